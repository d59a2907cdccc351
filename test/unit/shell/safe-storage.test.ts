import { describe, expect, it } from 'vitest'
import { SafeStorageSecretBox, type SafeStorageLike } from '../../../main/shell/safe-storage'

const fake = (available = true): SafeStorageLike => ({
  isEncryptionAvailable: () => available,
  encryptString: (s: string) => Buffer.from([...Buffer.from(s)].map((b) => b ^ 0x5a)),
  decryptString: (b: Buffer) => Buffer.from([...b].map((x) => x ^ 0x5a)).toString(),
})

describe('SafeStorageSecretBox', () => {
  it('seals with safeStorage and opens what it sealed', () => {
    const box = new SafeStorageSecretBox(fake())
    const sealed = box.encrypt('guest-password')
    expect(sealed).toMatch(/^safestorage:/)
    expect(sealed).not.toContain('guest-password')
    expect(box.decrypt(sealed)).toBe('guest-password')
  })

  it('refuses to save passwords when the OS has no secret storage, and foreign secrets', () => {
    expect(() => new SafeStorageSecretBox(fake(false)).encrypt('x')).toThrow(/no secret storage/)
    expect(() => new SafeStorageSecretBox(fake()).decrypt('aes256gcm:abc')).toThrow(/not sealed by this desktop app/)
  })
})
