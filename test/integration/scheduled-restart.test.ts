// Schedule three messages through the console's scheduled area, cancel one, and:
//  - on the embedded broker (a separate process with a data dir): restart the broker; the other two arrive, each
//    within one second of its due time, the cancelled one never;
//  - on a real RabbitMQ node without the delayed-message plugin (the TTL + dead-letter path): the other two arrive,
//    each within one second of its due time, the cancelled one never.
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import amqp from 'amqplib'
import { afterAll, describe, expect, it } from 'vitest'
import { dispatchCommand, type CommandHandlers, type CommandName, type CommandRequest, type CommandResponse } from '../../main/contract'
import { ProfileStore } from '../../main/console/profiles'
import { AesGcmSecretBox } from '../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../main/console/service'
import { startRabbitMQNode, type RabbitMQNode } from '../e2e/helpers/rabbitmq'
import { makeTempDir, sleep, spawnBrokerProcess, type BrokerProcess } from '../helpers/broker'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {})
}, 120_000)

function consoleFor(amqpUrl: string, managementUrl: string): { service: ConsoleService; cmd: <K extends CommandName>(name: K, req: CommandRequest<K>) => Promise<CommandResponse<K>> } {
  const profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), { amqpUrl, managementUrl })
  const service = createConsoleService({ profiles, emit: () => {} })
  const handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  const cmd = async <K extends CommandName>(name: K, req: CommandRequest<K>): Promise<CommandResponse<K>> => {
    const r = await dispatchCommand(handlers, name, req)
    if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`)
    return r.value as CommandResponse<K>
  }
  return { service, cmd }
}

function httpUrlOf(p: BrokerProcess): string {
  const m = /Management HTTP API on (http:\/\/127\.0\.0\.1:\d+)/.exec(p.output())
  if (!m) throw new Error(`no HTTP API in:\n${p.output()}`)
  return m[1]
}

async function setupTarget(url: string): Promise<void> {
  const conn = await amqp.connect(url)
  const ch = await conn.createChannel()
  await ch.assertExchange('restart-x', 'direct', { durable: true })
  await ch.assertQueue('restart-q', { durable: true })
  await ch.bindQueue('restart-q', 'restart-x', 'job')
  await conn.close()
}

async function consume(url: string): Promise<{ got: Map<string, number>; close: () => Promise<void> }> {
  const conn = await amqp.connect(url)
  conn.on('error', () => {})
  const ch = await conn.createChannel()
  const got = new Map<string, number>()
  await ch.consume('restart-q', (m) => m && got.set(m.content.toString(), Date.now()), { noAck: true })
  return { got, close: () => conn.close().catch(() => {}) }
}

async function scheduleThree(cmd: ReturnType<typeof consoleFor>['cmd'], mechanism: 'warren' | 'ttl', dues: number[]): Promise<{ source: string; ids: string[] }> {
  for (const [i, dueAt] of dues.entries()) {
    const r = await cmd('scheduled.schedule', { vhost: '/', exchange: 'restart-x', routingKey: 'job', body: `m${i}`, bodyEncoding: 'text', dueAt, mechanism })
    expect(r.routeWarning).toBeUndefined()
  }
  const source = mechanism === 'warren' ? 'exchange:warren.delay' : 'ttl'
  const page = await cmd('scheduled.list', { vhost: '/', source, page: 1, pageSize: 10 })
  // the broker's due time is publish time + x-delay / TTL: within a few ms of the asked one
  expect(page.items).toHaveLength(3)
  for (const [i, m] of page.items.entries()) expect(Math.abs(m.dueAt - dues[i])).toBeLessThan(100)
  return { source, ids: page.items.map((m) => m.id) }
}

function expectOnTime(got: Map<string, number>, dues: number[]): void {
  expect([...got.keys()].sort()).toEqual(['m0', 'm2'])
  for (const i of [0, 2]) {
    const late = got.get(`m${i}`)! - dues[i]
    expect(late, `m${i} arrived ${late} ms after its due time`).toBeGreaterThan(-50)
    expect(late, `m${i} arrived ${late} ms after its due time`).toBeLessThan(1000)
  }
}

describe('scheduled messages survive a restart of the embedded broker', () => {
  it('schedules three, cancels one, restarts: two arrive on time, the cancelled one never', async () => {
    const dir = makeTempDir('warren-sched-restart-')
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
    let broker = await spawnBrokerProcess(dir, ['--http-port', '0'], 60_000)
    cleanups.push(() => broker.kill9())
    await setupTarget(broker.url)
    const { service, cmd } = consoleFor(`amqp://127.0.0.1:${broker.port}`, httpUrlOf(broker))
    cleanups.push(() => service.close())
    const t0 = Date.now()
    const dues = [t0 + 25_000, t0 + 28_000, t0 + 31_000]
    const { source, ids } = await scheduleThree(cmd, 'warren', dues)
    await cmd('scheduled.cancel', { vhost: '/', source, id: ids[1] })
    await service.close()

    expect((await broker.terminate()).code).toBe(0)
    broker = await spawnBrokerProcess(dir, ['--http-port', '0'], 60_000)
    const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` }
    const listed = (await (await fetch(`${httpUrlOf(broker)}/api/exchanges/%2F/warren.delay/scheduled`, { headers: auth })).json()) as { total: number }
    expect(listed.total).toBe(2)
    expect(Date.now()).toBeLessThan(dues[0] - 1000) // the restart finished before the first one fell due
    const consumer = await consume(broker.url)
    cleanups.push(consumer.close)
    while (Date.now() < dues[2] + 3000) await sleep(100)
    expectOnTime(consumer.got, dues)
    await consumer.close()
  }, 120_000)
})

describe('scheduled messages on RabbitMQ without the plugin (TTL + dead-letter delay queues)', () => {
  it('schedules three, cancels one: two arrive on time, the cancelled one never', async () => {
    const starting = startRabbitMQNode()
    cleanups.push(() => starting.then((n) => n.stop()))
    const node: RabbitMQNode = await starting
    const url = new URL(node.amqpUrl)
    url.username = 'guest'
    url.password = 'guest'
    await setupTarget(url.toString())
    const { service, cmd } = consoleFor(node.amqpUrl, node.managementUrl)
    cleanups.push(() => service.close())
    // the remote profile: RabbitMQ, not the console's own broker
    const profiles = (await cmd('profiles.list', undefined)).profiles
    const remote = await cmd('profiles.add', { name: 'rabbit', amqpUrl: node.amqpUrl, managementUrl: node.managementUrl, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: false })
    expect(profiles.length).toBe(1)
    await cmd('profiles.activate', { id: remote.id })
    const caps = await cmd('scheduled.capabilities', { vhost: '/' })
    expect(caps.mechanism).toBe('ttl')
    expect(caps.notice).toMatch(/no delayed-message plugin/)

    const consumer = await consume(url.toString())
    cleanups.push(consumer.close)
    const t0 = Date.now()
    const dues = [t0 + 6_000, t0 + 8_000, t0 + 10_000]
    const { source, ids } = await scheduleThree(cmd, 'ttl', dues)
    await cmd('scheduled.cancel', { vhost: '/', source, id: ids[1] })
    expect((await cmd('scheduled.list', { vhost: '/', source, page: 1, pageSize: 10 })).items.map((m) => m.id)).toEqual([ids[0], ids[2]])
    while (Date.now() < dues[2] + 3000) await sleep(100)
    expectOnTime(consumer.got, dues)
    await consumer.close()
  }, 180_000)
})
