/**
 * Scale check of delayed delivery (x-delayed-message), kept out of `npm test`:
 *
 *   npx tsx bench/delayed.ts                       # 1,000,000 scheduled + 20,000 for accuracy
 *   npx tsx bench/delayed.ts --scheduled 200000 --accuracy 5000 --json
 *
 * The broker runs through its CLI in its own process (`node --import tsx broker/cli.ts --data <tmp>`), so its RSS is
 * the broker's alone. One amqplib ConfirmChannel publishes.
 *  1. scale: `--scheduled` messages (100 B, delays of 1-2 h, so none falls due) with ≤ `--window` unconfirmed;
 *     reports the confirmed publish rate per tenth of the run (it must not fall as the schedule grows), the broker's
 *     RSS as it goes and at the end, and the time and RSS of a restart with all of them still scheduled.
 *  2. accuracy: with those still scheduled, `--accuracy` messages with delays spread over 0.5-5 s, published at
 *     `--rate` msg/s (2000); a consumer records how late each arrives after its due time (publish time + x-delay,
 *     measured on the client, so the figure includes publish and delivery over loopback): p50, p99, max.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import amqp from 'amqplib'
import { percentile } from './stats'

const root = fileURLToPath(new URL('..', import.meta.url))

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}
const SCHEDULED = option('scheduled', 1_000_000)
const ACCURACY = option('accuracy', 20_000)
const WINDOW = option('window', 2000)
const RATE = option('rate', 2000)
const JSON_OUT = process.argv.includes('--json')
const log = (msg: string) => console.error(msg)

interface Broker {
  child: ChildProcess
  url: string
}

function startBroker(dataDir: string): Promise<Broker> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'broker', 'cli.ts'), '--port', '0', '--host', '127.0.0.1', '--data', dataDir], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /amqp:\/\/[^\s/]*?127\.0\.0\.1:(\d+)/.exec(out)
      if (m) {
        child.stdout!.off('data', onData)
        resolve({ child, url: `amqp://guest:guest@127.0.0.1:${m[1]}` })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()))
    child.once('exit', (code) => reject(new Error(`broker exited (${code}) before listening:\n${out}`)))
  })
}

async function stopBroker(broker: Broker): Promise<void> {
  const done = new Promise((resolve) => broker.child.once('exit', resolve))
  broker.child.kill('SIGTERM')
  await done
}

/** Resident and peak resident memory of a process, in MiB (Linux /proc). */
function memory(pid: number): { rssMiB: number; peakMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { rssMiB: Math.round(kb('VmRSS') / 1024), peakMiB: Math.round(kb('VmHWM') / 1024) }
}

/** Publishes `count` messages with ≤ WINDOW unconfirmed; calls progress every tenth. */
async function publishConfirmed(
  ch: amqp.ConfirmChannel,
  exchange: string,
  count: number,
  make: (i: number) => { body: Buffer; delay: number },
  progress?: (done: number) => void,
): Promise<void> {
  let confirmed = 0
  let inflight = 0
  let wake: (() => void) | undefined
  const tenth = Math.max(1, Math.floor(count / 10))
  for (let i = 0; i < count; i++) {
    while (inflight >= WINDOW) await new Promise<void>((r) => (wake = r))
    const { body, delay } = make(i)
    inflight++
    ch.publish(exchange, 'k', body, { headers: { 'x-delay': delay } }, (err) => {
      if (err) throw new Error(`publish ${i} nacked`)
      inflight--
      confirmed++
      if (progress && confirmed % tenth === 0) progress(confirmed)
      const w = wake
      wake = undefined
      w?.()
    })
  }
  await ch.waitForConfirms()
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'warren-delayed-bench-'))
  let broker = await startBroker(dataDir)
  const result: Record<string, unknown> = { scheduled: SCHEDULED, accuracyMessages: ACCURACY, accuracyRate: RATE, confirmWindow: WINDOW }
  try {
    let conn = await amqp.connect(broker.url, { noDelay: true })
    let ch = await conn.createConfirmChannel()
    await ch.assertExchange('bench.delayed', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'direct' } })
    await ch.assertQueue('bench.delayed.q', { durable: true })
    await ch.bindQueue('bench.delayed.q', 'bench.delayed', 'k')
    const idle = memory(broker.child.pid!)
    result.idleRssMiB = idle.rssMiB

    // 1. scale
    log(`scheduling ${SCHEDULED.toLocaleString()} messages (delays 1-2 h)...`)
    const body = Buffer.alloc(100, 'x')
    const started = performance.now()
    let last = started
    let lastDone = 0
    const tenths: Array<{ done: number; rate: number; rssMiB: number }> = []
    await publishConfirmed(
      ch,
      'bench.delayed',
      SCHEDULED,
      () => ({ body, delay: 3_600_000 + Math.floor(Math.random() * 3_600_000) }),
      (done) => {
        const now = performance.now()
        const rate = Math.round(((done - lastDone) * 1000) / (now - last))
        const { rssMiB } = memory(broker.child.pid!)
        tenths.push({ done, rate, rssMiB })
        log(`  ${done.toLocaleString()} confirmed: ${rate.toLocaleString()} msg/s over the last tenth, broker RSS ${rssMiB} MiB`)
        last = now
        lastDone = done
      },
    )
    const seconds = (performance.now() - started) / 1000
    const afterScale = memory(broker.child.pid!)
    result.publishRate = Math.round(SCHEDULED / seconds)
    result.publishRateByTenth = tenths.map((t) => t.rate)
    result.rssByTenthMiB = tenths.map((t) => t.rssMiB)
    result.rssAfterSchedulingMiB = afterScale.rssMiB
    result.peakRssMiB = afterScale.peakMiB
    log(`scheduled ${SCHEDULED.toLocaleString()} in ${seconds.toFixed(1)} s: ${result.publishRate} msg/s; broker RSS ${afterScale.rssMiB} MiB (peak ${afterScale.peakMiB} MiB, idle ${idle.rssMiB} MiB)`)
    await conn.close()

    // restart with everything still scheduled
    await stopBroker(broker)
    const dbBytes = statSync(join(dataDir, 'warren.db')).size
    const restartStarted = performance.now()
    broker = await startBroker(dataDir)
    result.restartMs = Math.round(performance.now() - restartStarted)
    result.rssAfterRestartMiB = memory(broker.child.pid!).rssMiB
    result.databaseMiB = Math.round(dbBytes / 1024 / 1024)
    log(`restart with ${SCHEDULED.toLocaleString()} scheduled: listening after ${result.restartMs} ms, RSS ${result.rssAfterRestartMiB} MiB; warren.db ${result.databaseMiB} MiB`)

    // 2. accuracy
    conn = await amqp.connect(broker.url, { noDelay: true })
    ch = await conn.createConfirmChannel()
    const consumer = await conn.createChannel()
    const lateness: number[] = []
    let early = 0
    let received = 0
    let allIn: () => void = () => {}
    const allReceived = new Promise<void>((r) => (allIn = r))
    await consumer.prefetch(1000)
    await consumer.consume(
      'bench.delayed.q',
      (m) => {
        if (!m) return
        const due = Number(m.content.toString())
        const late = Date.now() - due
        if (late < 0) early++
        lateness.push(late)
        consumer.ack(m)
        if (++received === ACCURACY) allIn()
      },
      { noAck: false },
    )
    log(`accuracy: ${ACCURACY.toLocaleString()} messages at ${RATE} msg/s with delays of 0.5-5 s...`)
    // paced, so that client-side queueing does not count as lateness
    for (let sent = 0; sent < ACCURACY; ) {
      const batch = Math.min(ACCURACY - sent, Math.max(1, Math.round(RATE / 100)))
      for (let i = 0; i < batch; i++, sent++) {
        const delay = 500 + Math.floor(Math.random() * 4500)
        ch.publish('bench.delayed', 'k', Buffer.from(String(Date.now() + delay)), { headers: { 'x-delay': delay } })
      }
      await new Promise((r) => setTimeout(r, 10))
    }
    await ch.waitForConfirms()
    await allReceived
    result.lateMs = {
      p50: percentile(lateness, 50),
      p99: percentile(lateness, 99),
      max: Math.max(...lateness),
      early,
    }
    log(`lateness after due time (ms): p50 ${percentile(lateness, 50)}, p99 ${percentile(lateness, 99)}, max ${Math.max(...lateness)}; ${early} arrived early`)
    result.rssAtEndMiB = memory(broker.child.pid!).rssMiB
    await conn.close()
  } finally {
    await stopBroker(broker).catch(() => undefined)
    rmSync(dataDir, { recursive: true, force: true })
  }
  if (JSON_OUT) console.log(JSON.stringify(result, null, 2))
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
