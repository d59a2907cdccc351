/**
 * How the console keeps profile passwords: never in clear text. `SecretBox` is the interface; the desktop app
 * implements it over Electron's safeStorage (main/shell/safe-storage.ts), the web console with AES-256-GCM and a
 * random key kept in a 0600 file next to the console's database (this file).
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

export interface SecretBox {
  /** names the scheme; stored with each secret so a database moved to another box fails clearly */
  readonly kind: string
  encrypt(plain: string): string
  decrypt(sealed: string): string
}

const PREFIX = 'aes256gcm:'
const IV_BYTES = 12
const TAG_BYTES = 16

export class SecretBoxError extends Error {
  readonly code = 'SECRET_UNREADABLE'
}

/** AES-256-GCM with a 32-byte key; each secret gets a random 96-bit IV. Output: `aes256gcm:` + base64(iv ‖ tag ‖ ciphertext). */
export class AesGcmSecretBox implements SecretBox {
  readonly kind = 'aes256gcm'
  private readonly key: Buffer

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error('AES-256-GCM needs a 32-byte key')
    this.key = Buffer.from(key)
  }

  /** Loads the key from `path`, creating it (random, mode 0600) if missing; refuses a key file others can read. */
  static fromKeyFile(path: string): AesGcmSecretBox {
    if (!existsSync(path)) {
      mkdirSync(dirname(path), { recursive: true })
      writeFileSync(path, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' })
      chmodSync(path, 0o600)
    }
    if (process.platform !== 'win32') {
      const mode = statSync(path).mode & 0o777
      if ((mode & 0o077) !== 0) throw new SecretBoxError(`key file ${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`)
    }
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64')
    if (key.length !== 32) throw new SecretBoxError(`key file ${path} does not hold a 32-byte base64 key`)
    return new AesGcmSecretBox(key)
  }

  encrypt(plain: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.key, iv)
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')
  }

  decrypt(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw new SecretBoxError('not an AES-256-GCM secret of this console')
    const raw = Buffer.from(sealed.slice(PREFIX.length), 'base64')
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError('secret is truncated')
    const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, IV_BYTES))
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES))
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8')
    } catch {
      throw new SecretBoxError('secret cannot be decrypted with this key (wrong key or tampered data)')
    }
  }
}
