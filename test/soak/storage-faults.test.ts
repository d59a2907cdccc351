// Storage faults, produced for real under the broker's SQLite store (no fake store):
// - a full disk: the data dir is a tmpfs of a few MB, filled up while publishers with confirms are running;
// - a read-only database: the data dir is an ext4 image on a loop device, forced read-only at runtime through
//   /sys/fs/ext4/<dev>/trigger_fs_error (errors=remount-ro), as the kernel does after an I/O error.
// Expected: publishers get basic.nack for what could not be written and connection.blocked ("low on disk"), the log
// has one clear line (not one per message), the broker does not crash and keeps serving other clients, every
// confirmed message stays; once space is back the store recovers by itself and publishers are unblocked.
// Mounting needs root (CAP_SYS_ADMIN), which our machines and CI have; elsewhere these tests are skipped, loudly.
import { execFileSync } from 'node:child_process'
import { closeSync, existsSync, mkdirSync, openSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { basename, join } from 'node:path'
import amqp, { type ConfirmChannel } from 'amqplib'
import { afterAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { makeTempDir, sleep, waitFor } from '../helpers/broker'

interface LogLine {
  level: 'info' | 'warn' | 'error'
  message: string
}

function capturingLogger(lines: LogLine[]) {
  return {
    info: (message: string) => lines.push({ level: 'info', message }),
    warn: (message: string) => lines.push({ level: 'warn', message }),
    error: (message: string) => lines.push({ level: 'error', message }),
  }
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

/** Whether this process may mount file systems (root in our containers and CI). */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false
  const probe = makeTempDir('warren-mount-probe-')
  try {
    run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe])
    run('umount', [probe])
    return true
  } catch {
    return false
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}

const MOUNT_OK = canMount()
if (!MOUNT_OK) console.warn('[storage-faults] SKIPPED: mounting a tmpfs / loop device needs root; these faults are tested in CI')

/** Fills the file system holding `dir` with a file until ENOSPC; returns the file. */
function fillDisk(dir: string): string {
  const file = join(dir, 'filler')
  const fd = openSync(file, 'w')
  const chunk = Buffer.alloc(64 * 1024, 0xab)
  try {
    for (;;) writeSync(fd, chunk)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  }
  // the last partial pages too
  const small = Buffer.alloc(512, 0xab)
  try {
    for (;;) writeSync(fd, small)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error
  }
  closeSync(fd)
  return file
}

interface Publisher {
  ch: ConfirmChannel
  /** sequence numbers the broker acked */
  acked: number[]
  nacked: number[]
  blocked: string[]
  unblocked: number
  /** publishes (with confirms) until stop() */
  stop(): Promise<void>
}

/** A confirm-mode publisher of persistent 4 KB messages, at most 200 unconfirmed. */
async function startPublisher(url: string, queue: string, from = 1): Promise<Publisher> {
  const conn = await amqp.connect(url)
  conn.on('error', () => {})
  const ch = await conn.createConfirmChannel()
  ch.on('error', () => {})
  await ch.assertQueue(queue, { durable: true })
  const p: Publisher = { ch, acked: [], nacked: [], blocked: [], unblocked: 0, stop: async () => {} }
  conn.on('blocked', (reason: string) => p.blocked.push(reason))
  conn.on('unblocked', () => p.unblocked++)
  let running = true
  let inFlight = 0
  let wake: (() => void) | undefined
  const padding = Buffer.alloc(4096, 0x61)
  const loop = (async () => {
    for (let seq = from; running; seq++) {
      while (inFlight >= 200 && running) await new Promise<void>((resolve) => (wake = resolve))
      if (!running) break
      inFlight++
      try {
        ch.sendToQueue(queue, Buffer.concat([Buffer.from(`${seq}:`), padding]), { persistent: true }, (err) => {
          inFlight--
          if (err) p.nacked.push(seq)
          else p.acked.push(seq)
          wake?.()
        })
      } catch {
        inFlight--
        break // the connection is gone
      }
      if (seq % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
  })()
  p.stop = async () => {
    running = false
    wake?.()
    await loop
    // wait for the outstanding confirms (acks or nacks), then close
    await waitFor(() => inFlight === 0, 30_000)
    await conn.close()
  }
  return p
}

/** Every message of a queue, in order, as sequence numbers (consumed with no-ack, so the queue ends empty). */
async function drain(url: string, queue: string): Promise<number[]> {
  const conn = await amqp.connect(url)
  const ch = await conn.createChannel()
  const { messageCount } = await ch.checkQueue(queue)
  const seqs: number[] = []
  if (messageCount > 0) {
    await new Promise<void>((resolve) => {
      void ch.consume(
        queue,
        (m) => {
          if (!m) return
          seqs.push(Number(m.content.toString('latin1', 0, 16).split(':', 1)[0]))
          if (seqs.length === messageCount) resolve()
        },
        { noAck: true },
      )
    })
  }
  await conn.close()
  return seqs
}

function expectConfirmedInOrder(seqs: number[], acked: number[]): void {
  for (let k = 1; k < seqs.length; k++) expect(seqs[k], 'in publish order, no duplicates').toBeGreaterThan(seqs[k - 1])
  const present = new Set(seqs)
  expect(acked.filter((seq) => !present.has(seq)), 'confirmed messages lost').toEqual([])
}

/** Another client, not publishing: it must be served while the publishers are blocked. */
async function otherClientWorks(url: string, queue: string): Promise<number> {
  const conn = await amqp.connect(url)
  try {
    const ch = await conn.createChannel()
    const { messageCount } = await ch.checkQueue(queue)
    const { queue: temp } = await ch.assertQueue('', { exclusive: true })
    expect(temp).toMatch(/^amq\.gen-/)
    return messageCount
  } finally {
    await conn.close()
  }
}

describe.skipIf(!MOUNT_OK)('storage faults under the SQLite store', () => {
  const cleanups: Array<() => void> = []
  afterAll(() => {
    for (const cleanup of cleanups.reverse()) {
      try {
        cleanup()
      } catch {
        // best effort: a test that failed half-way may leave less to clean up
      }
    }
  })

  it('a full disk: nacks and connection.blocked, one log line, no crash, confirmed messages kept, recovery once space is back', async () => {
    const mountPoint = makeTempDir('warren-full-')
    run('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mountPoint])
    cleanups.push(() => rmSync(mountPoint, { recursive: true, force: true }))
    cleanups.push(() => run('umount', ['-l', mountPoint]))
    const dataDir = join(mountPoint, 'data')
    mkdirSync(dataDir)
    const log: LogLine[] = []
    let broker: BrokerHandle | undefined = await startBroker({ port: 0, host: '127.0.0.1', dataDir, logger: capturingLogger(log), httpPort: 0 })
    cleanups.push(() => void broker?.close().catch(() => {}))
    const url = () => `amqp://guest:guest@127.0.0.1:${broker!.port}`
    const api = async (path: string) => {
      const response = await fetch(`http://127.0.0.1:${broker!.httpPort}${path}`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })
      return { status: response.status, body: (await response.json()) as unknown }
    }
    const queue = 'full-disk'
    expect((await api('/api/health/checks/alarms')).status).toBe(200)

    const publisher = await startPublisher(url(), queue)
    await waitFor(() => publisher.acked.length > 500, 10_000)
    const filler = fillDisk(mountPoint)

    // the fault: nacks for what could not be written, publishers blocked with the disk reason
    await waitFor(() => publisher.nacked.length > 0 && publisher.blocked.length > 0, 20_000)
    expect(publisher.blocked[0]).toBe('low on disk')
    expect(broker.core.memory.diskAlarmRaised).toBe(true)
    expect(broker.core.store.writeError?.kind).toBe('full')
    // other clients are served meanwhile; the management API shows the alarm
    expect(await otherClientWorks(url(), queue)).toBeGreaterThan(0)
    expect((await api('/api/nodes')).body).toMatchObject([{ disk_free_alarm: true, mem_alarm: false }])
    expect((await api('/api/health/checks/alarms')).status).toBe(503)
    await sleep(1500) // a few retries fail meanwhile: still one line
    const alarmLines = log.filter((line) => line.message.startsWith('disk alarm:'))
    expect(alarmLines).toHaveLength(1)
    expect(alarmLines[0].level).toBe('error')
    expect(alarmLines[0].message).toMatch(/the disk is full/)
    const ackedBeforeRecovery = publisher.acked.length

    // space is back: the store's retry succeeds, the alarm clears, publishing goes on
    unlinkSync(filler)
    await waitFor(() => publisher.unblocked > 0, 10_000)
    expect(broker.core.memory.diskAlarmRaised).toBe(false)
    expect(broker.core.store.writeError).toBeUndefined()
    expect(log.some((line) => line.message.startsWith('disk alarm cleared'))).toBe(true)
    expect((await api('/api/nodes')).body).toMatchObject([{ disk_free_alarm: false }])
    expect((await api('/api/health/checks/alarms')).status).toBe(200)
    await waitFor(() => publisher.acked.length > ackedBeforeRecovery + 200, 10_000)
    await publisher.stop()
    expect(log.filter((line) => line.level === 'error')).toHaveLength(1)

    // every confirmed message is there, in order, also after a restart
    await broker.close()
    broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir, logger: capturingLogger(log) })
    expectConfirmedInOrder(await drain(url(), queue), publisher.acked)
    console.log(`[storage-faults] full disk: ${publisher.acked.length} acked, ${publisher.nacked.length} nacked, blocked: ${publisher.blocked.join(', ')}`)
    await broker.close()
    broker = undefined
  }, 90_000)

  it('a transaction committed while the disk is full gets tx.commit-ok only once its messages are written', async () => {
    const mountPoint = makeTempDir('warren-full-tx-')
    run('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint])
    cleanups.push(() => rmSync(mountPoint, { recursive: true, force: true }))
    cleanups.push(() => run('umount', ['-l', mountPoint]))
    const dataDir = join(mountPoint, 'data')
    mkdirSync(dataDir)
    const log: LogLine[] = []
    let broker: BrokerHandle | undefined = await startBroker({ port: 0, host: '127.0.0.1', dataDir, logger: capturingLogger(log) })
    cleanups.push(() => void broker?.close().catch(() => {}))
    const url = () => `amqp://guest:guest@127.0.0.1:${broker!.port}`
    const conn = await amqp.connect(url())
    conn.on('error', () => {})
    const ch = await conn.createChannel()
    await ch.assertQueue('tx-full', { durable: true })
    await ch.assertQueue('tx-full', { durable: true }) // a round trip: the declare is committed
    const filler = fillDisk(mountPoint)
    // amqplib has no tx API: tx.select (90,10) and tx.commit (90,20) through its rpc, as test/integration/confirms-tx does
    const txCh = await conn.createChannel()
    const rpc = (txCh as unknown as { rpc(method: number, fields: object, expect: number): Promise<unknown> }).rpc.bind(txCh)
    await rpc(0x005a000a, {}, 0x005a000b)
    for (let i = 1; i <= 50; i++) txCh.sendToQueue('tx-full', Buffer.concat([Buffer.from(`${i}:`), Buffer.alloc(4096, 0x62)]), { persistent: true })
    let committed = false
    const commit = rpc(0x005a0014, {}, 0x005a0015).then(() => (committed = true))
    await waitFor(() => broker!.core.store.writeError !== undefined, 10_000)
    await sleep(1000)
    expect(committed, 'tx.commit-ok while the messages could not be written').toBe(false)
    unlinkSync(filler)
    await commit
    await waitFor(() => broker!.core.store.writeError === undefined, 10_000)
    await conn.close()
    await broker.close()
    broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir, logger: capturingLogger(log) })
    expect(await drain(url(), 'tx-full')).toEqual(Array.from({ length: 50 }, (_, i) => i + 1))
    await broker.close()
    broker = undefined
  }, 60_000)

  it('a database whose file system turns read-only: nacks and connection.blocked, one log line, no crash; confirmed messages are there after the repair', async () => {
    const image = join(makeTempDir('warren-ro-img-'), 'fs.img')
    const mountPoint = makeTempDir('warren-ro-')
    run('truncate', ['-s', '48M', image])
    run('mkfs.ext4', ['-q', '-F', image])
    run('mount', ['-o', 'loop,errors=remount-ro', image, mountPoint])
    cleanups.push(() => rmSync(join(image, '..'), { recursive: true, force: true }))
    cleanups.push(() => rmSync(mountPoint, { recursive: true, force: true }))
    cleanups.push(() => run('umount', ['-l', mountPoint]))
    const device = run('findmnt', ['-n', '-o', 'SOURCE', mountPoint]).trim()
    const trigger = `/sys/fs/ext4/${basename(device)}/trigger_fs_error`
    expect(existsSync(trigger), `${trigger} (ext4 error injection)`).toBe(true)

    const dataDir = join(mountPoint, 'data')
    mkdirSync(dataDir)
    const log: LogLine[] = []
    let broker: BrokerHandle | undefined = await startBroker({ port: 0, host: '127.0.0.1', dataDir, logger: capturingLogger(log) })
    cleanups.push(() => void broker?.close().catch(() => {}))
    const url = () => `amqp://guest:guest@127.0.0.1:${broker!.port}`
    const queue = 'read-only'

    const publisher = await startPublisher(url(), queue)
    await waitFor(() => publisher.acked.length > 500, 10_000)
    // what the kernel does after a metadata error with errors=remount-ro: the file system turns read-only under us
    execFileSync('sh', ['-c', `echo 1 > ${trigger}`])
    expect(() => writeFileSync(join(mountPoint, 'probe'), 'x')).toThrow(/EROFS/)

    await waitFor(() => publisher.nacked.length > 0 && publisher.blocked.length > 0, 20_000)
    expect(publisher.blocked[0]).toMatch(/^low on disk/)
    expect(broker.core.store.writeError?.kind).toBe('read-only')
    expect(await otherClientWorks(url(), queue)).toBeGreaterThan(0)
    await sleep(1500)
    const alarmLines = log.filter((line) => line.message.startsWith('disk alarm:'))
    expect(alarmLines).toHaveLength(1)
    expect(alarmLines[0].message).toMatch(/read-only/)

    // the publisher gives up (its unconfirmed messages stay unconfirmed); the broker closes without crashing even
    // though its last writes cannot be committed, and says so
    const stopping = publisher.stop().catch(() => {})
    await Promise.race([stopping, sleep(2000)])
    await expect(broker.close()).rejects.toThrow(/could not be committed/)
    broker = undefined

    // the operator repairs the file system; the broker starts on it again with every confirmed message
    run('umount', [mountPoint])
    try {
      run('e2fsck', ['-f', '-y', image])
    } catch {
      // exit status 1: errors were corrected
    }
    run('mount', ['-o', 'loop', image, mountPoint])
    broker = await startBroker({ port: 0, host: '127.0.0.1', dataDir, logger: capturingLogger(log) })
    expectConfirmedInOrder(await drain(url(), queue), publisher.acked)
    console.log(`[storage-faults] read-only: ${publisher.acked.length} acked, ${publisher.nacked.length} nacked, blocked: ${publisher.blocked.join(', ')}`)
    await broker.close()
    broker = undefined
  }, 90_000)
})
