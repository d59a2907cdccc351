// Back-pressure: a publisher blasting ~200 MB without a consumer must not crash the broker;
// a second connection stays served. Measures nothing exact.
import { describe, expect, it } from 'vitest'
import { useBroker } from '../helpers/setup'
import { uniq } from '../helpers/broker'
import { channel, connect, connectWithChannel, withTimeout } from '../helpers/amqp'

const ctx = useBroker()

describe('back-pressure (long)', () => {
  it('200 MB blast without a consumer: broker stays up and responsive', async () => {
    const conn = await connect(ctx.url)
    const ch = await channel(conn)
    const q = ctx.cleanup.q(uniq('bp'))
    await ch.assertQueue(q, { durable: false, autoDelete: false })
    const chunk = Buffer.alloc(256 * 1024, 7)
    const total = 200 * 1024 * 1024
    let sent = 0
    const deadline = Date.now() + 12_000
    // honour amqplib's write-buffer back-pressure (publish returns false → wait for 'drain')
    while (sent < total && Date.now() < deadline) {
      const ok = ch.sendToQueue(q, chunk)
      sent += chunk.length
      if (!ok) await withTimeout(new Promise((r) => ch.once('drain', r)), 15_000, 'drain').catch(() => undefined)
    }
    // a second connection is still served promptly
    const t0 = Date.now()
    const { ch: other } = await connectWithChannel(ctx.url)
    const tmp = (await other.assertQueue('', { exclusive: true })).queue
    other.sendToQueue(tmp, Buffer.from('ping'))
    const got = await withTimeout(
      (async () => {
        for (;;) {
          const m = await other.get(tmp, { noAck: true })
          if (m) return m.content.toString()
        }
      })(),
      5000,
      'second connection get',
    )
    expect(got).toBe('ping')
    expect(Date.now() - t0).toBeLessThan(5000)
    expect(sent).toBeGreaterThan(0)
    // drop the backlog fast
    await withTimeout(other.deleteQueue(q), 10_000, 'delete backlog')
  }, 40_000)
})
