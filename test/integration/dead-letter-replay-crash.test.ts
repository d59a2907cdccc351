// Crash safety of a bulk dead-letter replay, through the console's dead-letters area:
//  - the embedded broker as a separate process (broker/cli.ts --data DIR) is SIGKILLed in the middle of a replay of
//    10,000 persistent dead letters, then restarted on the same data;
//  - on a real RabbitMQ, the replay's own connection is closed from the management API mid-replay.
// Afterwards every message id is in the dead-letter queue or in the target queue: none missing (duplicates allowed:
// at least once).
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchCommand, type CommandHandlers, type CommandName, type CommandRequest, type CommandResponse, type DeadLetterJob, type WarrenEvents } from '../../main/contract'
import { ProfileStore } from '../../main/console/profiles'
import { AesGcmSecretBox } from '../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../main/console/service'
import { connectionName } from '../../main/console/dead-letters/jobs'
import { makeTempDir, spawnBrokerProcess, type BrokerProcess } from '../helpers/broker'
import { startRabbitMQNode, type RabbitMQNode } from '../e2e/helpers/rabbitmq'

const N = 10_000
const cleanups: (() => Promise<void> | void)[] = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await c()
}, 60_000)

interface Harness {
  service: ConsoleService
  cmd<K extends CommandName>(name: K, req: CommandRequest<K>): Promise<CommandResponse<K>>
  progress: DeadLetterJob[]
}

function harness(amqpUrl: string, managementUrl: string): Harness {
  const profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), { amqpUrl, managementUrl })
  const progress: DeadLetterJob[] = []
  const service = createConsoleService({
    profiles,
    emit: (event, payload) => {
      if (event === 'deadLetters.job') progress.push(payload as WarrenEvents['deadLetters.job'])
    },
  })
  cleanups.push(() => service.close())
  const handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  return {
    service,
    progress,
    async cmd(name, req) {
      const r = await dispatchCommand(handlers, name, req)
      if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`)
      return r.value as never
    },
  }
}

/** 10,000 persistent dead letters with unique message ids: published into a TTL queue that expires them at once. */
async function makeDeadLetters(url: string): Promise<string[]> {
  const conn = await amqp.connect(url)
  const ch = await conn.createConfirmChannel()
  await ch.assertQueue('crash.dlq', { durable: true })
  await ch.assertQueue('crash.target', { durable: true })
  await ch.assertQueue('crash.source', { durable: true, arguments: { 'x-message-ttl': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'crash.dlq' } })
  const ids: string[] = []
  for (let i = 0; i < N; i++) {
    const id = `msg-${i}`
    ids.push(id)
    if (!ch.sendToQueue('crash.source', Buffer.from(JSON.stringify({ i })), { persistent: true, messageId: id })) await new Promise((r) => ch.once('drain', r))
  }
  await ch.waitForConfirms()
  const deadline = Date.now() + 60_000
  while ((await ch.checkQueue('crash.dlq')).messageCount < N) {
    if (Date.now() > deadline) throw new Error('the dead letters did not all arrive')
    await new Promise((r) => setTimeout(r, 200))
  }
  await conn.close()
  return ids
}

/** every message id in the dead-letter queue and in the target (consumed with noAck: the test is over after) */
async function idsIn(url: string): Promise<{ dlq: string[]; target: string[] }> {
  const conn = await amqp.connect(url)
  const ch = await conn.createChannel()
  const drain = async (q: string): Promise<string[]> => {
    const { messageCount } = await ch.checkQueue(q)
    const out: string[] = []
    if (messageCount === 0) return out
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${out.length} of ${messageCount} from ${q}`)), 60_000)
      void ch.consume(q, (m) => {
        if (!m) return
        out.push(String(m.properties.messageId))
        if (out.length === messageCount) {
          clearTimeout(timer)
          resolve()
        }
      }, { noAck: true })
    })
    return out
  }
  const dlq = await drain('crash.dlq')
  const target = await drain('crash.target')
  await conn.close()
  return { dlq, target }
}

function expectNoneMissing(ids: string[], found: { dlq: string[]; target: string[] }): void {
  const have = new Set([...found.dlq, ...found.target])
  const missing = ids.filter((id) => !have.has(id))
  expect(missing).toEqual([])
  // the replay really was interrupted mid-way: some moved, some stayed
  expect(found.target.length).toBeGreaterThan(0)
  expect(found.dlq.length).toBeGreaterThan(0)
}

async function startReplay(h: Harness): Promise<DeadLetterJob> {
  const scan = await h.cmd('deadLetters.scan', {})
  expect(scan.queues.map((q) => q.name)).toContain('crash.dlq')
  return h.cmd('deadLetters.replay', { filter: { queues: ['crash.dlq'] }, target: { kind: 'custom', exchange: '', routingKey: 'crash.target' }, deathHeaders: 'keep', rateLimit: 2500 })
}

async function waitProgress(h: Harness, job: DeadLetterJob, atLeast: number): Promise<void> {
  const deadline = Date.now() + 60_000
  while (!h.progress.some((p) => p.id === job.id && p.replayed >= atLeast)) {
    if (Date.now() > deadline) throw new Error(`no progress: ${JSON.stringify(h.progress.at(-1))}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function waitEnd(h: Harness, job: DeadLetterJob): Promise<DeadLetterJob> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const j = h.progress.filter((p) => p.id === job.id).at(-1)
    if (j && j.state !== 'running' && j.state !== 'paused') return j
    if (Date.now() > deadline) throw new Error('job did not end')
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('bulk replay survives a broker crash (embedded broker as its own process)', () => {
  it('SIGKILL mid-replay, restart on the same data: every message is in the DLQ or the target', async () => {
    const dataDir = makeTempDir('warren-dl-crash-')
    let proc: BrokerProcess | undefined
    cleanups.push(async () => {
      await proc?.kill9()
      rmSync(dataDir, { recursive: true, force: true })
    })
    proc = await spawnBrokerProcess(dataDir, ['--http-port', '0'])
    const http = /Management HTTP API on (http:\/\/[^\s/]+)/.exec(proc.output())?.[1] ?? (await waitHttp(proc))
    const ids = await makeDeadLetters(proc.url)
    const h = harness(`amqp://127.0.0.1:${proc.port}`, http)
    const job = await startReplay(h)
    await waitProgress(h, job, 1500)
    await proc.kill9()
    const ended = await waitEnd(h, job)
    expect(ended.state).toBe('failed')
    expect(ended.error).toMatch(/connection|closed|lost/i)
    expect(ended.replayed).toBeLessThan(N)
    proc = await spawnBrokerProcess(dataDir)
    const found = await idsIn(proc.url)
    expectNoneMissing(ids, found)
    // what was confirmed and acked before the kill is in the target
    expect(found.target.length).toBeGreaterThanOrEqual(ended.replayed)
  }, 180_000)
})

async function waitHttp(proc: BrokerProcess): Promise<string> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const m = /Management HTTP API on (http:\/\/[^\s/]+)/.exec(proc.output())
    if (m) return m[1]!
    if (Date.now() > deadline) throw new Error(`no HTTP URL printed:\n${proc.output()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('bulk replay survives a dropped connection (RabbitMQ)', () => {
  let rabbit: RabbitMQNode
  beforeAll(async () => {
    rabbit = await startRabbitMQNode()
    cleanups.push(() => rabbit.stop())
  }, 120_000)

  it('replaying one message from the middle of a DLQ leaves the others in their order (requeue to position)', async () => {
    const url = new URL(rabbit.amqpUrl)
    url.username = 'guest'
    url.password = 'guest'
    const conn = await amqp.connect(url.toString())
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue('order.dlq', { durable: true })
    await ch.assertQueue('order.src', { durable: true, arguments: { 'x-message-ttl': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'order.dlq' } })
    await ch.assertQueue('order.target', { durable: true })
    for (let i = 0; i < 100; i++) ch.sendToQueue('order.src', Buffer.from(`m${i}`), { messageId: `m${i}` })
    await ch.waitForConfirms()
    while ((await ch.checkQueue('order.dlq')).messageCount < 100) await new Promise((r) => setTimeout(r, 100))
    const h = harness('amqp://127.0.0.1:1', 'http://127.0.0.1:1')
    const profile = await h.cmd('profiles.add', { name: 'rabbit', amqpUrl: rabbit.amqpUrl, managementUrl: rabbit.managementUrl, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: false })
    await h.cmd('profiles.activate', { id: profile.id })
    await h.cmd('deadLetters.scan', {})
    const list = await h.cmd('deadLetters.list', { offset: 0, limit: 1000, filter: { queues: ['order.dlq'] } })
    const pick = list.messages.find((m) => m.properties.messageId === 'm50')!
    const job = await h.cmd('deadLetters.replay', { selection: [pick], target: { kind: 'custom', exchange: '', routingKey: 'order.target' }, deathHeaders: 'keep' })
    const ended = await waitEnd(h, job)
    expect(ended).toMatchObject({ state: 'done', replayed: 1 })
    const found = await new Promise<string[]>((resolve) => {
      const out: string[] = []
      void ch.consume('order.dlq', (m) => {
        if (!m) return
        out.push(String(m.properties.messageId))
        if (out.length === 99) resolve(out)
      }, { noAck: true })
    })
    expect(found).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`).filter((id) => id !== 'm50'))
    const target = await ch.get('order.target', { noAck: true })
    expect(target && target.properties.messageId).toBe('m50')
    await conn.close()
  }, 60_000)

  it('the replay connection is closed from the management API mid-replay: every message is in the DLQ or the target', async () => {
    const url = new URL(rabbit.amqpUrl)
    url.username = 'guest'
    url.password = 'guest'
    const ids = await makeDeadLetters(url.toString())
    const h = harness('amqp://127.0.0.1:1', 'http://127.0.0.1:1')
    const profile = await h.cmd('profiles.add', { name: 'rabbit', amqpUrl: rabbit.amqpUrl, managementUrl: rabbit.managementUrl, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: false })
    await h.cmd('profiles.activate', { id: profile.id })
    const job = await startReplay(h)
    await waitProgress(h, job, 1000)
    // find the replay's connection by its client-given name and close it
    const auth = { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') }
    let name: string | undefined
    const deadline = Date.now() + 20_000
    while (!name) {
      const list = (await (await fetch(`${rabbit.managementUrl}/api/connections`, { headers: auth })).json()) as { name: string; client_properties?: { connection_name?: string } }[]
      name = list.find((c) => c.client_properties?.connection_name === connectionName(job.id))?.name
      if (!name) {
        if (Date.now() > deadline) throw new Error('the replay connection is not listed')
        await new Promise((r) => setTimeout(r, 100))
      }
    }
    const res = await fetch(`${rabbit.managementUrl}/api/connections/${encodeURIComponent(name)}`, { method: 'DELETE', headers: { ...auth, 'x-reason': 'test drops the replay' } })
    expect(res.status).toBeLessThan(300)
    const ended = await waitEnd(h, job)
    expect(ended.state).toBe('failed')
    expect(ended.replayed).toBeLessThan(N)
    const found = await idsIn(url.toString())
    expectNoneMissing(ids, found)
    expect(found.target.length).toBeGreaterThanOrEqual(ended.replayed)
  }, 240_000)
})
