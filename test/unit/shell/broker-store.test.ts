import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { BrokerStatus, Result, WarrenBridge, WarrenEvents } from '../../../main/contract'
import { setBridge } from '../../../renderer/src/bridge'
import { formatUptime, useBrokerStore } from '../../../renderer/src/stores/broker'

function fakeBridge(answer: () => Promise<Result<BrokerStatus>>) {
  const listeners = new Set<(s: BrokerStatus) => void>()
  const bridge: WarrenBridge = {
    invoke: (() => answer()) as WarrenBridge['invoke'],
    on: ((event: keyof WarrenEvents, listener: (s: BrokerStatus) => void) => {
      expect(event).toBe('broker.statusChanged')
      listeners.add(listener)
      return () => listeners.delete(listener)
    }) as WarrenBridge['on'],
  }
  return { bridge, push: (s: BrokerStatus) => listeners.forEach((l) => l(s)), listeners }
}

beforeEach(() => setActivePinia(createPinia()))
afterEach(() => setBridge(undefined))

describe('useBrokerStore', () => {
  it('loads the status through the bridge', async () => {
    const status: BrokerStatus = { state: 'running', amqpUrl: 'amqp://127.0.0.1:5672', port: 5672, uptimeMs: 1000 }
    setBridge(fakeBridge(async () => ({ ok: true, value: status })).bridge)
    const store = useBrokerStore()
    await store.refresh()
    expect(store.status).toEqual(status)
    expect(store.running).toBe(true)
    expect(store.error).toBeUndefined()
    expect(store.loading).toBe(false)
  })

  it('keeps error results as data', async () => {
    setBridge(fakeBridge(async () => ({ ok: false, error: { code: 'FORBIDDEN', message: 'no' } })).bridge)
    const store = useBrokerStore()
    await store.refresh()
    expect(store.error).toEqual({ code: 'FORBIDDEN', message: 'no' })
    expect(store.status).toBeUndefined()
  })

  it('reports a missing bridge instead of throwing', async () => {
    const store = useBrokerStore()
    await store.refresh()
    expect(store.error?.code).toBe('BRIDGE_FAILED')
  })

  it('follows pushed status changes and stops when unsubscribed', () => {
    const fake = fakeBridge(async () => ({ ok: true, value: { state: 'stopped' } }))
    setBridge(fake.bridge)
    const store = useBrokerStore()
    store.subscribe()
    store.subscribe()
    expect(fake.listeners.size).toBe(1)
    fake.push({ state: 'failed', error: { code: 'BROKER_EXITED', message: 'x' } })
    expect(store.status?.state).toBe('failed')
    store.unsubscribe()
    expect(fake.listeners.size).toBe(0)
  })

  it('advances uptime locally between refreshes', () => {
    const store = useBrokerStore()
    store.accept({ state: 'running', uptimeMs: 10_000 }, 50_000)
    expect(store.uptimeAt(53_000)).toBe(13_000)
    store.accept({ state: 'stopped' }, 60_000)
    expect(store.uptimeAt(61_000)).toBeUndefined()
  })
})

describe('formatUptime', () => {
  it.each([
    [0, '0s'],
    [59_999, '59s'],
    [61_000, '1m 1s'],
    [3_723_000, '1h 2m 3s'],
    [90_061_000, '1d 1h 1m'],
  ])('%i ms → %s', (ms, text) => expect(formatUptime(ms)).toBe(text))
})
