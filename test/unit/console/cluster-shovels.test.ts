import { describe, expect, it } from 'vitest'
import { pairOf } from '../../../main/console/cluster/nodes'
import { reasonText, safeUri, shovelParameter, timeOf } from '../../../main/console/cluster/shovels'
import { clusterWarnings } from '../../../main/console/cluster/warnings'

describe('shovel parameters and Warren pair', () => {
  it('builds RabbitMQ 3.10 amqp091 shovel parameters, on-confirm by default', () => {
    expect(shovelParameter({ vhost: '/', name: 's', srcUri: 'amqp://', srcQueue: 'a', destUri: 'amqp://h', destQueue: 'b' })).toEqual({
      'src-protocol': 'amqp091',
      'src-uri': 'amqp://',
      'src-queue': 'a',
      'dest-protocol': 'amqp091',
      'dest-uri': 'amqp://h',
      'dest-queue': 'b',
      'ack-mode': 'on-confirm',
    })
    expect(
      shovelParameter({ vhost: '/', name: 's', srcUri: 'amqp://', srcExchange: 'x', srcExchangeKey: '#', destUri: 'amqp://', destExchange: 'y', destExchangeKey: 'k', ackMode: 'no-ack', prefetchCount: 50, deleteAfter: 'queue-length' }),
    ).toMatchObject({ 'src-exchange': 'x', 'src-exchange-key': '#', 'dest-exchange': 'y', 'dest-exchange-key': 'k', 'ack-mode': 'no-ack', 'src-prefetch-count': 50, 'src-delete-after': 'queue-length' })
    expect(() => shovelParameter({ vhost: '/', name: 's', srcUri: 'amqp://', destUri: 'amqp://' })).toThrow(/source queue or a source exchange/)
    expect(() => shovelParameter({ vhost: '/', name: ' ', srcUri: 'amqp://', srcQueue: 'a', destUri: 'amqp://' })).toThrow(/name/)
    expect(() => shovelParameter({ vhost: '/', name: 's', srcUri: 'amqp://', srcQueue: 'a', destUri: 'amqp://', prefetchCount: 0 })).toThrow(/prefetch/)
  })

  it('formats what RabbitMQ reports', () => {
    expect(reasonText('"needed a restart"')).toBe('needed a restart')
    expect(safeUri('amqp://guest:secret@host:5672/v')).toBe('amqp://guest:***@host:5672/v')
    expect(timeOf('2026-11-26 2:17:58')).toBe(Date.UTC(2026, 10, 26, 2, 17, 58))
  })

  it("reads Warren's /api/ha and warns when the standby is down", () => {
    const pair = pairOf({
      mode: 'pair',
      node: 'a',
      role: 'active',
      members: [
        { name: 'a', role: 'active', amqp: 'amqp://127.0.0.1:5672', pid: 1, started_at: 1, last_seen_at: 2, active_since: 1 },
        { name: 'b', role: 'down', last_seen_at: 2 },
      ],
      takeovers: [
        { at: 10, node: 'a', previous: 'b', reason: 'lock acquired', took_ms: 1200 },
        { at: 20, node: 'b', previous: 'a', reason: 'x', took_ms: 900 },
      ],
    })!
    expect(pair.members[1]!.role).toBe('down')
    expect(pair.takeovers.map((t) => t.at)).toEqual([20, 10])
    expect(pair.takeovers[1]!.tookMs).toBe(1200)
    expect(clusterWarnings({ nodes: [], rows: [], pair }).map((w) => w.kind)).toEqual(['standby-down'])
    expect(pairOf({ error: 'Not Found' })).toBeUndefined()
  })
})
