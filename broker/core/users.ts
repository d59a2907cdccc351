import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { PermissionRecord, UserRecord } from '../store/store'

export interface Permission {
  configure: RegExp
  write: RegExp
  read: RegExp
  source: PermissionRecord
}

export type Access = 'configure' | 'write' | 'read'

/**
 * RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)) with a 4-byte salt, so
 * definitions exported from RabbitMQ import with their password hashes intact.
 */
export function hashPassword(password: string, salt: Buffer = randomBytes(4)): string {
  const digest = createHash('sha256').update(Buffer.concat([salt, Buffer.from(password, 'utf8')])).digest()
  return Buffer.concat([salt, digest]).toString('base64')
}

export function passwordMatches(user: UserRecord, password: string): boolean {
  if (!user.passwordHash) return false
  const stored = Buffer.from(user.passwordHash, 'base64')
  if (stored.length < 5) return false
  const candidate = Buffer.from(hashPassword(password, stored.subarray(0, 4)), 'base64')
  return candidate.length === stored.length && timingSafeEqual(candidate, stored)
}

/** Compiles a permission pattern as RabbitMQ does: an anchored-by-author regex; the empty string matches nothing. */
export function compilePermission(record: PermissionRecord): Permission {
  const compile = (pattern: string) => (pattern === '' ? /(?!)/ : new RegExp(pattern))
  return { configure: compile(record.configure), write: compile(record.write), read: compile(record.read), source: record }
}

export const SHA256_ALGORITHM = 'rabbit_password_hashing_sha256'
