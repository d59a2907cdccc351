// Pure logic of the scheduled area: delay buckets (TTL path), the route check's matching, the timeline histogram,
// the view's time formatting, and the broker's bounded record of unrouted due messages.
import { describe, expect, it } from 'vitest'
import {
  bucketFor,
  bucketQueueArguments,
  bucketQueueName,
  dueTimeOf,
  histogram,
  MAX_TTL_DELAY_MS,
  MIN_WIDTH_MS,
  worstLatenessMs,
} from '../../../main/console/scheduled/buckets'
import { reachableQueues, type ExchangeFacts } from '../../../main/console/scheduled/route-check'
import { headersMatch, topicMatches } from '../../../main/console/routing'
import { countdown, toMs } from '../../../renderer/src/components/scheduled/time'
import { UnroutedLog } from '../../../broker/core/delayed/unrouted'

describe('delay buckets', () => {
  it('puts every delay in a bucket that contains it, 1 s wide up to 32 s, then at most ~3 % of the delay', () => {
    for (const d of [1, 999, 1000, 1500, 31_999, 32_768, 59_000, 60_000, 3_600_000, 86_400_000, MAX_TTL_DELAY_MS, 12_345_678]) {
      const b = bucketFor(d)
      expect(b.lowerMs).toBeLessThanOrEqual(d)
      expect(b.upperMs).toBeGreaterThan(d)
      expect(b.upperMs - b.lowerMs).toBe(b.widthMs)
      expect(b.widthMs).toBeGreaterThanOrEqual(MIN_WIDTH_MS)
      if (d >= 32_768) expect(b.widthMs / d).toBeLessThanOrEqual(1 / 32)
      else expect(b.widthMs).toBe(1000)
    }
  })

  it('keeps a long delay out of a short delay’s queue (no head-of-line blocking across buckets)', () => {
    const short = bucketFor(5_000)
    const long = bucketFor(3_600_000)
    expect(bucketQueueName(short, 'orders')).not.toBe(bucketQueueName(long, 'orders'))
    expect(bucketFor(5_000)).toEqual(bucketFor(5_999))
    expect(bucketFor(5_000)).not.toEqual(bucketFor(6_000))
    // a message is at most one bucket width late: 1 s below 32 s, ~3 % above
    expect(worstLatenessMs(10_000)).toBe(1000)
    expect(worstLatenessMs(3_600_000)).toBeLessThanOrEqual(3_600_000 / 32)
  })

  it('names queues under warren.delay, dead-letters to the target, and expires idle queues after their longest wait', () => {
    const b = bucketFor(90_000)
    expect(bucketQueueName(b, 'orders')).toBe(`warren.delay.ttl.${b.lowerMs}-${b.upperMs}.orders`)
    expect(bucketQueueName(b, '')).toMatch(/\.amq\.default$/)
    const args = bucketQueueArguments(b, 'orders')
    expect(args['x-dead-letter-exchange']).toBe('orders')
    expect(args['x-expires']).toBeGreaterThan(b.upperMs + b.widthMs)
    expect(bucketQueueArguments(bucketFor(MAX_TTL_DELAY_MS), 'x')['x-expires']).toBeLessThanOrEqual(2 ** 32 - 1)
  })

  it('refuses non-positive delays and takes a due time or a delay', () => {
    expect(() => bucketFor(0)).toThrow(RangeError)
    expect(() => bucketFor(Number.NaN)).toThrow(RangeError)
    expect(dueTimeOf({ dueAt: 5000 }, 1000)).toBe(5000)
    expect(dueTimeOf({ delayMs: 250 }, 1000)).toBe(1250)
    expect(() => dueTimeOf({}, 1000)).toThrow(/due time/)
  })
})

describe('route check', () => {
  it('matches topics, headers (all / any / with-x)', () => {
    expect(topicMatches('order.*', 'order.created')).toBe(true)
    expect(topicMatches('order.*', 'order.created.eu')).toBe(false)
    expect(topicMatches('order.#', 'order')).toBe(true)
    expect(topicMatches('#.eu', 'order.created.eu')).toBe(true)
    expect(topicMatches('*.created', 'created')).toBe(false)
    expect(headersMatch({ 'x-match': 'all', a: 1, b: 'x' }, { a: 1, b: 'x', c: 2 })).toBe(true)
    expect(headersMatch({ 'x-match': 'all', a: 1, b: 'x' }, { a: 1 })).toBe(false)
    expect(headersMatch({ 'x-match': 'any', a: 1, b: 'x' }, { a: 1 })).toBe(true)
    expect(headersMatch({ 'x-match': 'all', 'x-k': 1 }, {})).toBe(true) // x- keys ignored without -with-x
    expect(headersMatch({ 'x-match': 'all-with-x', 'x-k': 1 }, {})).toBe(false)
  })

  it('follows exchange-to-exchange bindings and the alternate exchange; undefined for a missing exchange', async () => {
    const exchanges: Record<string, ExchangeFacts> = {
      shop: { name: 'shop', type: 'direct', arguments: { 'alternate-exchange': 'lost' }, bindings: [{ destination: 'orders', destinationType: 'queue', routingKey: 'order', arguments: {} }, { destination: 'fan', destinationType: 'exchange', routingKey: 'audit', arguments: {} }] },
      fan: { name: 'fan', type: 'fanout', arguments: {}, bindings: [{ destination: 'audit-1', destinationType: 'queue', routingKey: '', arguments: {} }, { destination: 'shop', destinationType: 'exchange', routingKey: '', arguments: {} }] },
      lost: { name: 'lost', type: 'fanout', arguments: {}, bindings: [{ destination: 'unroutable', destinationType: 'queue', routingKey: '', arguments: {} }] },
      held: { name: 'held', type: 'x-delayed-message', arguments: { 'x-delayed-type': 'topic' }, bindings: [{ destination: 'eu', destinationType: 'queue', routingKey: '*.eu', arguments: {} }] },
      empty: { name: 'empty', type: 'direct', arguments: {}, bindings: [] },
    }
    const lookup = async (n: string) => exchanges[n]
    expect(await reachableQueues(lookup, 'shop', 'order', undefined)).toEqual(['orders'])
    expect(await reachableQueues(lookup, 'shop', 'audit', undefined)).toEqual(['audit-1'])
    expect(await reachableQueues(lookup, 'shop', 'nothing', undefined)).toEqual(['unroutable'])
    expect(await reachableQueues(lookup, 'held', 'order.eu', undefined)).toEqual(['eu'])
    expect(await reachableQueues(lookup, 'held', 'order.us', undefined)).toEqual([])
    expect(await reachableQueues(lookup, 'empty', 'x', undefined)).toEqual([])
    expect(await reachableQueues(lookup, 'missing', 'x', undefined)).toBeUndefined()
  })
})

describe('timeline and time formatting', () => {
  it('counts due times into equal slots from the first to the last', () => {
    const h = histogram([100, 100, 150, 199, 1099], 10)
    expect(h.total).toBe(5)
    expect(h.from).toBe(100)
    expect(h.counts.reduce((a, b) => a + b, 0)).toBe(5)
    expect(h.counts[0]).toBe(4)
    expect(h.counts[9]).toBe(1)
    expect(histogram([], 10)).toEqual({ from: 0, to: 0, slotMs: 0, counts: [], total: 0 })
  })

  it('formats countdowns and converts delay units', () => {
    expect(countdown(-5)).toBe('due')
    expect(countdown(4200)).toBe('in 5 s')
    expect(countdown(125_000)).toBe('in 2 min 05 s')
    expect(countdown(3_720_000)).toBe('in 1 h 02 min')
    expect(countdown(3 * 86_400_000)).toBe('in 3 d 0 h')
    expect(toMs(1.5, 'min')).toBe(90_000)
    expect(toMs(2, 'd')).toBe(172_800_000)
  })
})

describe('unrouted record', () => {
  const msg = (id: number, exchange = 'dx', bytes = 10) => ({ id, vhost: '/', exchange, routingKey: 'k', properties: Buffer.alloc(0), body: Buffer.alloc(bytes), dueAt: id })

  it('keeps the newest records within its count and byte bounds, newest first, per exchange', () => {
    const log = new UnroutedLog({ limit: 3, maxBytes: 1000 })
    for (let id = 1; id <= 5; id++) log.record(msg(id), { routed: false }, 100 + id)
    expect(log.list('/', 'dx').map((r) => r.id)).toEqual([5, 4, 3])
    expect(log.total).toBe(5)
    const bytes = new UnroutedLog({ limit: 100, maxBytes: 25 })
    for (let id = 1; id <= 4; id++) bytes.record(msg(id), { routed: false, reason: 'no-route' }, 0)
    expect(bytes.list('/').map((r) => r.id)).toEqual([4, 3])
    log.record(msg(9, 'other'), { routed: false }, 0)
    expect(log.list('/', 'other').map((r) => r.id)).toEqual([9])
    expect(log.clear('/', 'dx')).toBe(2)
    expect(log.list('/').map((r) => r.id)).toEqual([9])
  })
})
