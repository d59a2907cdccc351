// Crash safety: the broker runs as its own process (`broker/cli.ts --data DIR`) under a confirmed persistent load on
// several durable queues and is killed with SIGKILL at a random moment (seeded), again and again. After every kill:
// the database passes PRAGMA integrity_check (opened read-only, before the broker touches it again); after every
// restart: each queue holds every message that was confirmed (and not purged since), in publish order, with no
// duplicates and no gaps; messages that were published but not confirmed may or may not be there.
// 3 cycles in `npm test`, 20 in `npm run test:soak`.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { ConfirmChannel } from 'amqplib'
import { afterAll, describe, expect, it } from 'vitest'
import { closeAllConnections, confirmChannel, connect, withTimeout, type Conn } from '../helpers/amqp'
import { external, makeTempDir, spawnBrokerProcess, type BrokerProcess } from '../helpers/broker'
import { scale, seeded } from './config'

const CYCLES = scale(3, 20)
const QUEUES = ['crash-a', 'crash-b', 'crash-c', 'crash-d']
/** unconfirmed publishes allowed in flight per channel */
const WINDOW = 500
const PADDING = 'x'.repeat(200)

interface QueueLedger {
  /** highest sequence number published so far (confirmed or not) */
  published: number
  /** sequence numbers the broker confirmed (ack) since the last purge */
  confirmed: number[]
  /** messages up to here were purged; a kill before the purge committed may bring some back */
  purgedUpTo: number
}

function body(seq: number): Buffer {
  return Buffer.from(`${seq}:${PADDING}`)
}

function seqOf(content: Buffer): number {
  return Number(content.toString().split(':', 1)[0])
}

/** Takes every message of a queue (the queue is purged right after anyway). */
async function readQueue(conn: Conn, queue: string): Promise<number[]> {
  const ch = await conn.createChannel()
  const { messageCount } = await ch.checkQueue(queue)
  const seqs: number[] = []
  if (messageCount > 0) {
    await withTimeout(
      new Promise<void>((resolve) => {
        void ch.consume(
          queue,
          (m) => {
            if (!m) return
            seqs.push(seqOf(m.content))
            if (seqs.length === messageCount) resolve()
          },
          { noAck: true },
        )
      }),
      60_000,
      `reading ${messageCount} messages of ${queue}`,
    )
  }
  await ch.close()
  return seqs
}

/** Publishes with confirms as fast as the window allows until the channel dies. */
function publishUntilKilled(ch: ConfirmChannel, queue: string, ledger: QueueLedger): Promise<void> {
  let inFlight = 0
  let wake: (() => void) | undefined
  let dead = false
  ch.on('close', () => {
    dead = true
    wake?.()
  })
  ch.on('error', () => {})
  return (async () => {
    while (!dead) {
      if (inFlight >= WINDOW) {
        await new Promise<void>((resolve) => (wake = resolve))
        wake = undefined
        continue
      }
      const seq = ++ledger.published
      inFlight++
      try {
        ch.sendToQueue(queue, body(seq), { persistent: true }, (err) => {
          inFlight--
          if (!err) ledger.confirmed.push(seq)
          wake?.()
        })
      } catch {
        return // the connection is gone: amqplib refuses to publish
      }
      if (seq % 100 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
  })()
}

function integrityCheck(dataDir: string): string {
  const db = new Database(join(dataDir, 'warren.db'), { readonly: true, fileMustExist: true })
  try {
    return (db.prepare('PRAGMA integrity_check').pluck().all() as string[]).join('; ')
  } finally {
    db.close()
  }
}

describe.skipIf(external)('crash safety: kill -9 under confirmed persistent load', () => {
  const dataDir = makeTempDir('warren-crash-')
  let proc: BrokerProcess | undefined
  afterAll(async () => {
    await closeAllConnections()
    await proc?.kill9()
    rmSync(dataDir, { recursive: true, force: true })
  })

  it(`${CYCLES} kill -9 cycles: confirmed messages survive in order, integrity_check ok`, async () => {
    const random = seeded('crash')
    const ledgers = new Map<string, QueueLedger>(QUEUES.map((q) => [q, { published: 0, confirmed: [], purgedUpTo: 0 }]))
    let totalConfirmed = 0
    let totalRecovered = 0

    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      proc = await spawnBrokerProcess(dataDir)
      const conns = [await connect(proc.url), await connect(proc.url)]
      for (const c of conns) c.on('error', () => {})

      // after a restart: check what the previous cycle left, then purge so the data set stays small
      const setup = await conns[0].createConfirmChannel()
      for (const queue of QUEUES) {
        await setup.assertQueue(queue, { durable: true })
        const ledger = ledgers.get(queue)!
        const seqs = await readQueue(conns[0], queue)
        totalRecovered += seqs.length
        for (let k = 1; k < seqs.length; k++) {
          if (seqs[k] !== seqs[k - 1] + 1) throw new Error(`cycle ${cycle} seed ${random.seed}: ${queue} out of order or with a gap: ${seqs[k - 1]} then ${seqs[k]}`)
        }
        const present = new Set(seqs)
        const lost = ledger.confirmed.filter((seq) => seq > ledger.purgedUpTo && !present.has(seq))
        expect(lost, `cycle ${cycle} seed ${random.seed}: confirmed messages of ${queue} lost`).toEqual([])
        expect(seqs.every((seq) => seq >= 1 && seq <= ledger.published), `${queue} holds a message never published`).toBe(true)
        await setup.purgeQueue(queue)
        ledger.purgedUpTo = ledger.published
        ledger.confirmed = []
      }
      await setup.close()

      // the load: one confirm channel per queue, spread over two connections
      const publishers: Promise<void>[] = []
      for (const [i, queue] of QUEUES.entries()) {
        const ch = await confirmChannel(conns[i % conns.length])
        publishers.push(publishUntilKilled(ch, queue, ledgers.get(queue)!))
      }
      const killAfter = random.int(100, 1500)
      await new Promise((resolve) => setTimeout(resolve, killAfter))
      await proc.kill9()
      await Promise.all(publishers)
      await closeAllConnections()

      const confirmedNow = QUEUES.reduce((n, q) => n + ledgers.get(q)!.confirmed.length, 0)
      totalConfirmed += confirmedNow
      const integrity = integrityCheck(dataDir)
      console.log(`[crash] cycle ${cycle}/${CYCLES}: killed after ${killAfter} ms, ${confirmedNow} confirmed, integrity_check: ${integrity}`)
      expect(integrity, `cycle ${cycle} seed ${random.seed}`).toBe('ok')
    }

    // the last cycle's messages, checked once more on a final start
    proc = await spawnBrokerProcess(dataDir)
    const conn = await connect(proc.url)
    for (const queue of QUEUES) {
      const ledger = ledgers.get(queue)!
      const seqs = await readQueue(conn, queue)
      totalRecovered += seqs.length
      for (let k = 1; k < seqs.length; k++) expect(seqs[k], `${queue} in order, without gaps`).toBe(seqs[k - 1] + 1)
      const present = new Set(seqs)
      expect(ledger.confirmed.filter((seq) => !present.has(seq)), `seed ${random.seed}: confirmed messages of ${queue} lost`).toEqual([])
    }
    await closeAllConnections()
    await proc.terminate()
    proc = undefined
    console.log(`[crash] ${CYCLES} cycles: ${totalConfirmed} confirmed messages, ${totalRecovered} recovered after kills (seed ${random.seed})`)
    // the load was real
    expect(totalConfirmed).toBeGreaterThan(CYCLES * 100)
  }, scale(120_000, 30 * 60_000))
})
