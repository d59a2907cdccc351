import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ProfileInput } from '../../../main/contract'
import { EMBEDDED_PROFILE_ID, ProfileStore } from '../../../main/console/profiles'
import { AesGcmSecretBox } from '../../../main/console/secrets'

const input = (over: Partial<ProfileInput> = {}): ProfileInput => ({
  name: 'prod eu',
  amqpUrl: 'amqps://mq.example.com:5671',
  managementUrl: 'https://mq.example.com:15671',
  username: 'ops',
  password: 'Very-Secret-42',
  vhost: 'orders',
  production: true,
  readOnly: true,
  ...over,
})

let dir: string
let store: ProfileStore
const box = new AesGcmSecretBox(randomBytes(32))
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-profiles-'))
  store = new ProfileStore(join(dir, 'console.db'), box, { amqpUrl: 'amqp://127.0.0.1:5672', managementUrl: 'http://127.0.0.1:15672' })
})
afterEach(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('ProfileStore', () => {
  it('always has the embedded profile, active by default, which cannot be changed or deleted', () => {
    expect(store.state()).toMatchObject({ activeId: EMBEDDED_PROFILE_ID, profiles: [{ id: EMBEDDED_PROFILE_ID, kind: 'embedded', managementUrl: 'http://127.0.0.1:15672' }] })
    expect(() => store.delete(EMBEDDED_PROFILE_ID)).toThrow(/cannot be deleted/)
    expect(() => store.update(EMBEDDED_PROFILE_ID, { name: 'x' })).toThrow(/cannot be changed/)
    store.setEmbeddedEndpoints({ amqpUrl: 'amqp://127.0.0.1:5999', managementUrl: 'http://127.0.0.1:16000' })
    expect(store.get(EMBEDDED_PROFILE_ID).managementUrl).toBe('http://127.0.0.1:16000')
  })

  it('adds, updates, activates and deletes remote profiles; the password never leaves in clear', () => {
    const p = store.add(input())
    expect(p).toMatchObject({ kind: 'remote', name: 'prod eu', production: true, readOnly: true, hasPassword: true })
    expect(p).not.toHaveProperty('password')
    expect(store.withSecret(p.id).password).toBe('Very-Secret-42')
    expect(store.rawSealedPassword(p.id)).not.toContain('Very-Secret')

    store.update(p.id, { name: 'prod eu-west', readOnly: false })
    expect(store.get(p.id)).toMatchObject({ name: 'prod eu-west', readOnly: false })
    expect(store.withSecret(p.id).password).toBe('Very-Secret-42') // kept when not given
    store.update(p.id, { password: 'rotated' })
    expect(store.withSecret(p.id).password).toBe('rotated')

    store.setActive(p.id)
    expect(store.activeId()).toBe(p.id)
    store.delete(p.id)
    expect(store.activeId()).toBe(EMBEDDED_PROFILE_ID)
    expect(() => store.get(p.id)).toThrow(/no profile/)
  })

  it('keeps no password in clear anywhere in the database files', () => {
    store.add(input({ password: 'Needle-In-The-Haystack' }))
    store.close()
    for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).includes('Needle-In-The-Haystack')).toBe(false)
    store = new ProfileStore(join(dir, 'console.db'), box, { amqpUrl: 'amqp://x:1', managementUrl: 'http://x:1' })
    expect(store.list()).toHaveLength(2)
  })

  it('validates URLs, user and vhost', () => {
    expect(() => store.add(input({ amqpUrl: 'http://nope' }))).toThrow(/AMQP URL must start with amqp/)
    expect(() => store.add(input({ managementUrl: 'not a url' }))).toThrow(/not a URL/)
    expect(() => store.add(input({ name: ' ' }))).toThrow(/needs a name/)
    expect(() => store.add(input({ vhost: '' }))).toThrow(/vhost/)
  })
})
