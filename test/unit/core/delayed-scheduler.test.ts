import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DelayedScheduler, delayOf, dueProperties, validateDelayedArguments } from '../../../broker/core/delayed'
import { Decimal, decodeBasicProperties, encodeBasicProperties, TypedValue } from '../../../broker/protocol'
import { createMemoryStore, type ScheduledMessage, type Store } from '../../../broker/store'

const T0 = 1_700_000_000_000

function msg(id: number, dueAt: number, exchange = 'dx'): ScheduledMessage {
  return { id, vhost: '/', exchange, routingKey: 'k', properties: Buffer.alloc(2), body: Buffer.from(`m${id}`), dueAt }
}

describe('DelayedScheduler', () => {
  let store: Store
  let delivered: ScheduledMessage[]
  let scheduler: DelayedScheduler

  beforeEach(() => {
    vi.useFakeTimers({ now: T0 })
    store = createMemoryStore()
    delivered = []
  })
  afterEach(() => {
    scheduler?.stop()
    vi.useRealTimers()
  })

  const make = (options: ConstructorParameters<typeof DelayedScheduler>[2] = {}) => {
    scheduler = new DelayedScheduler(store, (m) => delivered.push(m), options)
    return scheduler
  }

  it('keeps only a bounded window in memory and delivers everything in due order', () => {
    const s = make({ windowSize: 10 })
    s.start()
    const dues: number[] = []
    let maxWindow = 0
    for (let id = 1; id <= 1000; id++) {
      const due = T0 + 1000 + Math.floor(Math.random() * 10_000)
      dues.push(due)
      s.schedule(msg(id, due))
      maxWindow = Math.max(maxWindow, s.windowCount)
    }
    expect(maxWindow).toBeLessThanOrEqual(20)
    expect(store.countScheduled('/', 'dx')).toBe(1000)
    vi.advanceTimersByTime(999)
    expect(delivered).toHaveLength(0)
    vi.advanceTimersByTime(11_000)
    expect(delivered).toHaveLength(1000)
    for (let i = 1; i < delivered.length; i++) {
      const [a, b] = [delivered[i - 1], delivered[i]]
      expect(a.dueAt < b.dueAt || (a.dueAt === b.dueAt && a.id < b.id)).toBe(true)
    }
    // nothing delivered before it was due
    expect(store.countScheduled('/', 'dx')).toBe(0)
    expect(s.windowCount).toBe(0)
  })

  it('does not read the store for a window it already holds whole (an exchange deleted with many scheduled messages)', () => {
    const s = make({ windowSize: 10 })
    s.start()
    for (let id = 1; id <= 500; id++) s.schedule(msg(id, T0 + 3_600_000 + id, 'big'))
    s.schedule(msg(501, T0 + 5_000, 'small'))
    const reads = vi.spyOn(store, 'readScheduled')
    expect(s.drop('/', 'big')).toBe(500)
    // the window kept 'small' only, and the store holds nothing else: no read needed to know the window is complete
    expect(reads).not.toHaveBeenCalled()
    vi.advanceTimersByTime(5_000)
    expect(delivered.map((m) => m.id)).toEqual([501])
    // a message scheduled later, beyond what the window held, is still found
    s.schedule(msg(502, T0 + 20_000, 'small'))
    vi.advanceTimersByTime(15_000)
    expect(delivered.map((m) => m.id)).toEqual([501, 502])
  })

  it('delivers each message at its due time, not before', () => {
    const at = new Map<number, number>()
    scheduler = new DelayedScheduler(store, (m) => at.set(m.id, Date.now()), { windowSize: 4 })
    scheduler.start()
    for (let id = 1; id <= 50; id++) scheduler.schedule(msg(id, T0 + id * 37))
    vi.advanceTimersByTime(50 * 37 + 1)
    expect(at.size).toBe(50)
    for (const [id, time] of at) expect(time).toBe(T0 + id * 37)
  })

  it('cancels and reschedules messages inside and outside the window', () => {
    const s = make({ windowSize: 2 })
    s.start()
    for (let id = 1; id <= 10; id++) s.schedule(msg(id, T0 + id * 100))
    expect(s.windowCount).toBeLessThanOrEqual(4)
    expect(s.cancel(1)).toBe(true) // in the window
    expect(s.cancel(9)).toBe(true) // in the store only
    expect(s.cancel(9)).toBe(false)
    expect(s.reschedule(10, T0 + 50)).toBe(true) // from the store into the window, first
    expect(s.reschedule(2, T0 + 5000)).toBe(true) // from the window to last
    expect(s.reschedule(42, T0)).toBe(false)
    vi.advanceTimersByTime(60)
    expect(delivered.map((m) => m.id)).toEqual([10])
    expect(s.deliverNow(8)).toBe(true)
    expect(delivered.map((m) => m.id)).toEqual([10, 8])
    vi.advanceTimersByTime(10_000)
    expect(delivered.map((m) => m.id)).toEqual([10, 8, 3, 4, 5, 6, 7, 2])
    expect(store.countScheduled('/', 'dx')).toBe(0)
  })

  it('on start, delivers what fell due while stopped, in batches per turn', () => {
    for (let id = 1; id <= 12; id++) store.addScheduled(msg(id, T0 - 1000 + id))
    store.addScheduled(msg(13, T0 + 500))
    const s = make({ windowSize: 5, deliveryBatch: 5 })
    s.start()
    expect(delivered).toHaveLength(0) // never inside start()
    vi.advanceTimersByTime(0)
    expect(delivered.length).toBeGreaterThanOrEqual(5)
    vi.advanceTimersByTime(10)
    expect(delivered.map((m) => m.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
    vi.advanceTimersByTime(500)
    expect(delivered.map((m) => m.id).at(-1)).toBe(13)
  })

  it('drops an exchange: from the store and from the window', () => {
    const s = make({ windowSize: 3 })
    s.start()
    for (let id = 1; id <= 10; id++) s.schedule(msg(id, T0 + id * 10, id % 2 ? 'odd' : 'even'))
    expect(s.drop('/', 'odd')).toBe(5)
    vi.advanceTimersByTime(1000)
    expect(delivered.map((m) => m.id)).toEqual([2, 4, 6, 8, 10])
  })

  it('arms one timer, however many messages are scheduled', () => {
    const s = make({ windowSize: 100 })
    s.start()
    for (let id = 1; id <= 500; id++) s.schedule(msg(id, T0 + 10_000 - id))
    expect(vi.getTimerCount()).toBe(1)
  })
})

describe('x-delay and x-delayed-type, as the plugin reads them', () => {
  it('reads x-delay: integers, numeric strings, floats truncated; <= 0, too long or other types mean no delay', () => {
    expect(delayOf(undefined)).toBeUndefined()
    expect(delayOf({})).toBeUndefined()
    expect(delayOf({ 'x-delay': 200 })).toBe(200)
    expect(delayOf({ 'x-delay': new TypedValue('l', 5000n) })).toBe(5000)
    expect(delayOf({ 'x-delay': new TypedValue('s', 7) })).toBe(7)
    expect(delayOf({ 'x-delay': '1500' })).toBe(1500)
    expect(delayOf({ 'x-delay': 'soon' })).toBeUndefined()
    expect(delayOf({ 'x-delay': 99.9 })).toBe(99)
    expect(delayOf({ 'x-delay': new Decimal(1, 25) })).toBe(2)
    expect(delayOf({ 'x-delay': 0 })).toBeUndefined()
    expect(delayOf({ 'x-delay': -100 })).toBeUndefined()
    expect(delayOf({ 'x-delay': 4294967295 })).toBe(4294967295)
    expect(delayOf({ 'x-delay': 4294967296 })).toBeUndefined()
    expect(delayOf({ 'x-delay': true })).toBeUndefined()
  })

  it('negates x-delay when the message falls due, leaving other properties as they were', () => {
    const encoded = encodeBasicProperties({ contentType: 'text/plain', headers: { 'x-delay': 300, other: 'v' }, deliveryMode: 2 })
    const { properties, encodedProperties } = dueProperties(encoded)
    expect(decodeBasicProperties(encodedProperties)).toEqual(properties)
    expect(properties.contentType).toBe('text/plain')
    expect(properties.deliveryMode).toBe(2)
    expect(properties.headers?.other).toBe('v')
    expect(properties.headers?.['x-delay']).toBe(-300)
    expect(encodedProperties.includes(Buffer.from([0x49, 0xff, 0xff, 0xfe, 0xd4]))).toBe(true) // 'I' signedint -300
    const plain = encodeBasicProperties({ contentType: 'x' })
    expect(dueProperties(plain).encodedProperties).toBe(plain)
  })

  it('requires x-delayed-type to name an existing exchange type', () => {
    expect(() => validateDelayedArguments({})).toThrow("PRECONDITION_FAILED - Invalid argument, 'x-delayed-type' must be an existing exchange type")
    expect(() => validateDelayedArguments({ 'x-delayed-type': 5 })).toThrow(/PRECONDITION_FAILED/)
    expect(() => validateDelayedArguments({ 'x-delayed-type': 'x-delayed-message' })).toThrow(/PRECONDITION_FAILED/)
    expect(() => validateDelayedArguments({ 'x-delayed-type': 'nope' })).toThrow("COMMAND_INVALID - unknown exchange type 'nope'")
    for (const type of ['direct', 'fanout', 'topic', 'headers']) expect(() => validateDelayedArguments({ 'x-delayed-type': type })).not.toThrow()
  })
})
