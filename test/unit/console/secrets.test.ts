import { randomBytes } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { AesGcmSecretBox } from '../../../main/console/secrets'

let dir: string
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'warren-secrets-'))))
afterEach(() => rmSync(dir, { recursive: true, force: true }))

describe('AesGcmSecretBox', () => {
  it('round-trips, with a fresh IV each time and no clear text in the output', () => {
    const box = new AesGcmSecretBox(randomBytes(32))
    const a = box.encrypt('s3cret-pässword')
    const b = box.encrypt('s3cret-pässword')
    expect(a).not.toBe(b)
    expect(a).toMatch(/^aes256gcm:/)
    expect(a).not.toContain('s3cret')
    expect(box.decrypt(a)).toBe('s3cret-pässword')
    expect(box.decrypt(box.encrypt(''))).toBe('')
  })

  it('detects tampering and a wrong key', () => {
    const box = new AesGcmSecretBox(randomBytes(32))
    const sealed = box.encrypt('guest')
    const raw = Buffer.from(sealed.slice('aes256gcm:'.length), 'base64')
    raw[raw.length - 1]! ^= 1
    expect(() => box.decrypt('aes256gcm:' + raw.toString('base64'))).toThrow(/cannot be decrypted/)
    expect(() => new AesGcmSecretBox(randomBytes(32)).decrypt(sealed)).toThrow(/cannot be decrypted/)
    expect(() => box.decrypt('plain')).toThrow(/not an AES-256-GCM secret/)
    expect(() => new AesGcmSecretBox(randomBytes(16))).toThrow(/32-byte/)
  })

  it('creates its key file with mode 0600 and reuses it', () => {
    const path = join(dir, 'sub', 'secret.key')
    const sealed = AesGcmSecretBox.fromKeyFile(path).encrypt('guest')
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')).toHaveLength(32)
    expect(AesGcmSecretBox.fromKeyFile(path).decrypt(sealed)).toBe('guest')
  })

  it('refuses a key file that others can read', () => {
    const path = join(dir, 'secret.key')
    AesGcmSecretBox.fromKeyFile(path)
    chmodSync(path, 0o644)
    expect(() => AesGcmSecretBox.fromKeyFile(path)).toThrow(/readable by others/)
  })
})
