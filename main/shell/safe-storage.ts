/**
 * Profile passwords sealed with Electron's safeStorage (the OS keychain / DPAPI / libsecret). Takes a
 * safeStorage-shaped object (type-only electron import) so it is unit-tested without Electron.
 */
import type { SafeStorage } from 'electron'
import type { SecretBox } from '../console/secrets'

const PREFIX = 'safestorage:'

export type SafeStorageLike = Pick<SafeStorage, 'isEncryptionAvailable' | 'encryptString' | 'decryptString'>

export class SafeStorageSecretBox implements SecretBox {
  readonly kind = 'safestorage'
  constructor(private readonly safeStorage: SafeStorageLike) {}

  encrypt(plain: string): string {
    if (!this.safeStorage.isEncryptionAvailable()) {
      throw Object.assign(new Error('the OS offers no secret storage: passwords cannot be saved'), { code: 'SECRET_STORAGE_UNAVAILABLE' })
    }
    return PREFIX + this.safeStorage.encryptString(plain).toString('base64')
  }

  decrypt(sealed: string): string {
    if (!sealed.startsWith(PREFIX)) throw Object.assign(new Error('password was not sealed by this desktop app'), { code: 'SECRET_UNREADABLE' })
    return this.safeStorage.decryptString(Buffer.from(sealed.slice(PREFIX.length), 'base64'))
  }
}
