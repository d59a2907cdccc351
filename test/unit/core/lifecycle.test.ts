import { describe, expect, it } from 'vitest'
import { checkExpiration, deadLetterMessage, isDeadLetterCycle, messageExpiration, queueSettings } from '../../../broker/core/lifecycle'
import type { Message } from '../../../broker/core/message'
import { matchPolicy, validatePolicy, type Policy } from '../../../broker/core/policy'
import { encodeBasicProperties, plainFieldValue, TypedValue, type BasicProperties } from '../../../broker/protocol'

function message(properties: BasicProperties, routingKey = 'rk', exchange = 'ex'): Message {
  return { id: 1, exchange, routingKey, properties, encodedProperties: encodeBasicProperties(properties), body: Buffer.from('b'), persistent: false }
}

const plain = (value: unknown) => plainFieldValue(value as never)

describe('queueSettings (arguments combined with a policy, RabbitMQ 3.10)', () => {
  it('takes the lower TTL, expiry and limits, and the argument for dead-lettering and overflow', () => {
    const settings = queueSettings(
      { 'x-message-ttl': 500, 'x-max-length': 10, 'x-dead-letter-exchange': 'arg-dlx', 'x-overflow': 'reject-publish', 'x-single-active-consumer': true },
      { 'message-ttl': 100, 'max-length': 20, 'max-length-bytes': 7, expires: 9, 'dead-letter-exchange': 'pol-dlx', 'dead-letter-routing-key': 'pol-rk', overflow: 'drop-head' },
    )
    expect(settings).toEqual({ messageTtl: 100, expires: 9, deadLetterExchange: 'arg-dlx', deadLetterRoutingKey: 'pol-rk', maxLength: 10, maxLengthBytes: 7, overflow: 'reject-publish', singleActiveConsumer: true })
    expect(queueSettings({}, undefined)).toEqual({ overflow: 'drop-head', singleActiveConsumer: false })
  })
})

describe('expiration property', () => {
  it('reads non-negative integers only', () => {
    expect(messageExpiration({ expiration: '0' })).toBe(0)
    expect(messageExpiration({ expiration: '+25' })).toBe(25)
    expect(messageExpiration({ expiration: '-1' })).toBeUndefined()
    expect(messageExpiration({})).toBeUndefined()
  })
  it('is validated on publish with RabbitMQ texts', () => {
    expect(() => checkExpiration({ expiration: '100' })).not.toThrow()
    expect(() => checkExpiration({ expiration: 'x' })).toThrow("invalid expiration 'x': no_integer")
    expect(() => checkExpiration({ expiration: '-5' })).toThrow("invalid expiration '-5': {value_negative,-5}")
    expect(() => checkExpiration({ expiration: '5s' })).toThrow(`invalid expiration '5s': {leftover_string,"s"}`)
  })
})

describe('deadLetterMessage', () => {
  it('adds the first x-death entry with x-first-death-*, records CC keys and original-expiration, drops expiration', () => {
    const letter = deadLetterMessage(message({ expiration: '50', headers: { CC: ['c1'], other: 1 }, messageId: 'm' }), 'expired', 'q1', undefined, 1_700_000_000_000)!
    expect(letter.routingKeys).toEqual(['rk', 'c1'])
    expect(letter.properties.expiration).toBeUndefined()
    expect(letter.properties.messageId).toBe('m')
    const headers = letter.properties.headers!
    expect(plain(headers['x-death'])).toEqual([{ count: 1, reason: 'expired', queue: 'q1', time: 1_700_000_000, exchange: 'ex', 'routing-keys': ['rk', 'c1'], 'original-expiration': '50' }])
    expect(headers['x-first-death-reason']).toBe('expired')
    expect(headers['x-first-death-queue']).toBe('q1')
    expect(headers['x-first-death-exchange']).toBe('ex')
    expect(headers.other).toBe(1)
  })

  it('with a dead-letter routing key routes by it and removes CC', () => {
    const letter = deadLetterMessage(message({ headers: { CC: ['c1'] } }), 'rejected', 'q1', 'dead', 0)!
    expect(letter.routingKeys).toEqual(['dead'])
    expect(letter.properties.headers!.CC).toBeUndefined()
    expect(plain(letter.properties.headers!['x-death'])).toMatchObject([{ 'routing-keys': ['rk', 'c1'] }])
  })

  it('counts up a (queue, reason) entry and moves it to the front, keeping its first fields', () => {
    const first = deadLetterMessage(message({}), 'rejected', 'q1', undefined, 1000)!
    const second = deadLetterMessage(message(first.properties, 'rk', 'dlx'), 'expired', 'q2', undefined, 2000)!
    const third = deadLetterMessage(message(second.properties, 'rk', 'dlx2'), 'rejected', 'q1', undefined, 3000)!
    const deaths = plain(third.properties.headers!['x-death']) as Record<string, unknown>[]
    expect(deaths.map((d) => [d.queue, d.reason, d.count, d.exchange, d.time])).toEqual([
      ['q1', 'rejected', 2, 'ex', 1],
      ['q2', 'expired', 1, 'dlx', 2],
    ])
    expect(third.properties.headers!['x-first-death-queue']).toBe('q1')
    expect((third.properties.headers!['x-death'] as unknown[])[0]).toMatchObject({ count: new TypedValue('l', 2) })
  })

  it('gives up on an x-death array holding non-tables', () => {
    expect(deadLetterMessage(message({ headers: { 'x-death': [{ queue: 'q' }, 'junk'] } }), 'expired', 'q', undefined, 0)).toBeUndefined()
  })
})

describe('isDeadLetterCycle (rabbit_dead_letter:is_cycle)', () => {
  const withDeaths = (...deaths: [string, string][]): BasicProperties => ({ headers: { 'x-death': deaths.map(([queue, reason]) => ({ queue, reason })) } })
  it('drops automatic cycles and lets cycles with a rejection through', () => {
    expect(isDeadLetterCycle(withDeaths(['q1', 'expired']), 'expired', 'q1')).toBe(true)
    expect(isDeadLetterCycle(withDeaths(['q2', 'expired'], ['q1', 'maxlen']), 'expired', 'q1')).toBe(true)
    expect(isDeadLetterCycle(withDeaths(['q2', 'expired'], ['q1', 'rejected']), 'expired', 'q1')).toBe(false)
    expect(isDeadLetterCycle(withDeaths(['q2', 'rejected'], ['q1', 'expired']), 'expired', 'q1')).toBe(false)
    expect(isDeadLetterCycle(withDeaths(['q2', 'expired']), 'expired', 'q1')).toBe(false)
    expect(isDeadLetterCycle(withDeaths(['q1', 'expired']), 'rejected', 'q1')).toBe(false)
  })
})

describe('policies', () => {
  const policy = (name: string, pattern: string, priority: number, applyTo: Policy['applyTo'] = 'all'): Policy => ({ vhost: '/', name, pattern, priority, applyTo, definition: { 'max-length': 1 } })
  it('matches the highest priority policy for the kind', () => {
    const policies = [policy('low', '^q', 1), policy('high', '^q\\.a', 5), policy('ex', '.*', 9, 'exchanges')]
    expect(matchPolicy(policies, 'queue', 'q.a')?.name).toBe('high')
    expect(matchPolicy(policies, 'queue', 'q.b')?.name).toBe('low')
    expect(matchPolicy(policies, 'queue', 'other')).toBeUndefined()
    expect(matchPolicy(policies, 'exchange', 'q.a')?.name).toBe('ex')
  })
  it('validates definitions', () => {
    expect(validatePolicy(policy('ok', '.*', 0)).definition).toEqual({ 'max-length': 1 })
    expect(() => validatePolicy({ ...policy('bad', '.*', 0), definition: { 'message-ttl': -1 } })).toThrow(/PRECONDITION_FAILED/)
    expect(() => validatePolicy({ ...policy('bad', '.*', 0), definition: { 'alternate-exchange': 3 as never } })).toThrow(/PRECONDITION_FAILED/)
  })
})
