// Shovel chaos: an on-confirm shovel keeps moving persistent messages while its connections are closed under it
// (DELETE /api/connections, as an operator or a network failure would) at random moments. Every message must arrive
// (at-least-once: a message in flight when its connection died may arrive twice, and the run prints how many did).
// Short in `npm test` (5,000 messages, 5 kills); long under `npm run test:soak` (200,000 messages, 100 kills).
import amqp from 'amqplib'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { startHttpBroker, type HttpBroker, type Json } from '../helpers/http'
import { scale, seeded } from './config'

const TOTAL = scale(5_000, 200_000)
const KILLS = scale(5, 100)

let b: HttpBroker | undefined
const dataDir = mkdtempSync(join(tmpdir(), 'warren-shovel-soak-'))

afterAll(async () => {
  await b?.handle.close()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('shovel under connection failures', () => {
  it(`moves ${TOTAL} persistent messages with none lost while its connections are closed ${KILLS} times`, async () => {
    const random = seeded('shovel-soak')
    b = await startHttpBroker({ dataDir })
    const broker = b
    const put = await broker.call('PUT', '/api/parameters/shovel/%2f/chaos', {
      body: { value: { 'src-uri': 'amqp://', 'src-queue': 'chaos.src', 'dest-uri': 'amqp://', 'dest-queue': 'chaos.dest', 'reconnect-delay': 0.1, 'src-prefetch-count': 200 } },
    })
    expect(put.status).toBe(201)
    const connection = await amqp.connect(broker.amqpUrl)
    try {
      const ch = await connection.createConfirmChannel()
      await ch.assertQueue('chaos.src', { durable: true })
      await ch.assertQueue('chaos.dest', { durable: true })
      const count = (queue: string) => broker.handle.core.vhosts.get('/')?.queues.get(queue)?.messageCount ?? 0

      // publish in batches while killing the shovel's connections at random moments
      let killed = 0
      const killer = (async () => {
        while (killed < KILLS) {
          await new Promise((r) => setTimeout(r, random.int(20, 200)))
          const connections = ((await broker.get('/api/connections')).body as Json[]).filter((c) => c.client_properties?.connection_name === 'Shovel chaos')
          if (connections.length === 0) continue
          const victim = random.pick(connections)
          const r = await broker.call('DELETE', `/api/connections/${encodeURIComponent(victim.name)}`)
          if (r.status === 204) killed++
        }
      })()
      for (let id = 0; id < TOTAL; ) {
        const end = Math.min(TOTAL, id + 1000)
        for (; id < end; id++) ch.sendToQueue('chaos.src', Buffer.from(`chaos ${id}`), { persistent: true, messageId: String(id) })
        await ch.waitForConfirms()
      }
      await killer
      const deadline = Date.now() + scale(60_000, 20 * 60_000)
      while (!(count('chaos.src') === 0 && count('chaos.dest') >= TOTAL)) {
        if (Date.now() > deadline) throw new Error(`not all moved: ${count('chaos.src')} left, ${count('chaos.dest')} arrived`)
        await new Promise((r) => setTimeout(r, 100))
      }
      const status = ((await broker.get('/api/shovels')).body as Json[])[0]
      expect(status.last_error).not.toBeNull()

      // every id at least once, bodies intact
      const seen = new Uint16Array(TOTAL)
      const consumer = await connection.createChannel()
      const expected = count('chaos.dest')
      let received = 0
      await new Promise<void>((resolve) => {
        void consumer.consume(
          'chaos.dest',
          (m) => {
            if (!m) return
            const id = Number(m.properties.messageId)
            if (m.content.toString() === `chaos ${id}`) seen[id]++
            if (++received === expected) resolve()
          },
          { noAck: true },
        )
      })
      const missing = seen.filter((n) => n === 0).length
      const twice = seen.reduce((sum, n) => sum + Math.max(0, n - 1), 0)
      console.log(`[shovel-soak] ${TOTAL} messages, ${killed} connection kills: ${missing} missing, ${twice} delivered twice`)
      expect(missing).toBe(0)
    } finally {
      await connection.close().catch(() => undefined)
    }
  }, scale(120_000, 30 * 60_000))
})
