// Active/standby pair (broker/ha/, `broker/cli.ts --pair`), with real processes on one shared data directory.
//
// What is promised, and tested here:
// - kill -9 of the active under a confirmed persistent publishing load: the standby accepts connections within
//   5 s of the kill, and every message the old active CONFIRMED is there exactly once: either consumed and acked
//   before the kill, or delivered after the takeover. A message whose ack the old active had processed is not
//   delivered again: the test stops acking, waits 300 ms (the ack travels to the broker, which commits it to the
//   store on its next event-loop turn with an fsync), then kills. An ack still in flight at the moment of the kill
//   carries no promise (AMQP has no ack of an ack): such a message may come back, as after any broker crash.
//   Messages published but not confirmed may or may not be there, never twice.
// - durable definitions (exchange, queue, binding, user, policy) are there after the takeover;
// - the old active, started again, is the standby; GET /api/ha shows both roles and the takeovers;
// - a client given both addresses (connectToPair, the loop of docs/pair.md) reaches the new active and goes on;
// - never two actives: members started at the same moment, the active killed while the other is starting, and a
//   member that cannot take the lock (held by this test process) stays standby until the lock is free.
import { rmSync } from 'node:fs'
import type { Channel, ChannelModel } from 'amqplib'
import amqp from 'amqplib'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { PairLock } from '../../broker/ha/lock'
import { lockFile } from '../../broker/ha/members'
import { external, makeTempDir, sleep, spawnBrokerProcess, waitFor } from '../helpers/broker'
import { acceptsConnections, connectToPair, freePorts, spawnPairMember, startPairPublisher, type PairProcess } from '../helpers/pair'

// the long versions (20 and 10 rounds, random delays) are in test/soak/pair.test.ts
const RACE_ROUNDS = 3
const KILL_WHILE_STARTING_ROUNDS = 2

const processes: PairProcess[] = []
const connections: ChannelModel[] = []
const dirs: string[] = []

function member(dataDir: string, node: string, amqpPort: number, httpPort: number): PairProcess {
  const p = spawnPairMember(dataDir, node, amqpPort, httpPort)
  processes.push(p)
  return p
}

function tempDir(): string {
  const dir = makeTempDir('warren-pair-')
  dirs.push(dir)
  return dir
}

async function killAll(): Promise<void> {
  for (const c of connections.splice(0)) await c.close().catch(() => {})
  await Promise.all(processes.splice(0).map((p) => p.kill9()))
}

afterAll(async () => {
  await killAll()
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

async function api(httpPort: number, method: string, path: string, body?: unknown, user = 'guest', password = user): Promise<{ status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
    method,
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

const roles = (body: { members: { name: string; role: string }[] }) => Object.fromEntries(body.members.map((m) => [m.name, m.role]))

describe.skipIf(external)('active/standby pair', () => {
  const dataDir = tempDir()
  let ports: number[] = []
  let a: PairProcess
  let b: PairProcess

  it('kill -9 of the active under confirmed load: the standby takes over in < 5 s with every confirmed message and the definitions', async () => {
    ports = await freePorts(4)
    const [amqpA, httpA, amqpB, httpB] = ports
    a = member(dataDir, 'a', amqpA, httpA)
    await a.waitForOutput(/is ACTIVE/)
    b = member(dataDir, 'b', amqpB, httpB)
    await b.waitForOutput(/is STANDBY/)
    expect(await acceptsConnections(amqpB)).toBe(false)

    // durable definitions, made on the active
    const made = [
      await api(httpA, 'PUT', '/api/exchanges/%2F/pair.x', { type: 'direct', durable: true }),
      await api(httpA, 'PUT', '/api/queues/%2F/pair.q', { durable: true }),
      await api(httpA, 'POST', '/api/bindings/%2F/e/pair.x/q/pair.q', { routing_key: 'k' }),
      await api(httpA, 'PUT', '/api/users/pair-user', { password: 'pw', tags: 'management' }),
      await api(httpA, 'PUT', '/api/permissions/%2F/pair-user', { configure: '.*', write: '.*', read: '.*' }),
      await api(httpA, 'PUT', '/api/policies/%2F/pair-policy', { pattern: '^pair\\.', definition: { 'max-length': 1_000_000 }, 'apply-to': 'queues' }),
    ]
    for (const r of made) expect(r.status, JSON.stringify(r.body)).toBeLessThan(300)

    const urls = [`amqp://guest:guest@127.0.0.1:${amqpA}`, `amqp://guest:guest@127.0.0.1:${amqpB}`]

    // the publisher: confirmed persistent messages through the exchange; on a lost connection, the reconnect loop
    const publisher = startPairPublisher(urls, (ch, body, done) => ch.publish('pair.x', 'k', body, { persistent: true }, done), connections)
    const confirmed = publisher.confirmed

    // the consumer on the active: acks every message while acking is on
    const consumerConn = await amqp.connect(urls[0])
    connections.push(consumerConn)
    consumerConn.on('error', () => {})
    const consumer: Channel = await consumerConn.createChannel()
    consumer.on('error', () => {})
    await consumer.prefetch(100)
    const acked = new Set<number>()
    let acking = true
    await consumer.consume('pair.q', (m) => {
      if (!m || !acking) return
      acked.add(Number(m.content.toString()))
      consumer.ack(m)
    })

    await waitFor(() => confirmed.size >= 3000 && acked.size >= 1000, 60_000, 20)
    acking = false
    const ackedBeforeKill = new Set(acked)
    await sleep(300) // the acks sent reach the broker and are committed (see the promise at the top)

    const killedAt = Date.now()
    await a.kill9()
    await waitFor(() => acceptsConnections(amqpB), 10_000, 10)
    const tookMs = Date.now() - killedAt
    console.log(`[pair] takeover: the standby accepted connections ${tookMs} ms after kill -9 of the active`)
    expect(tookMs).toBeLessThan(5000)

    // the publisher found the new active through the reconnect loop and goes on
    await waitFor(() => publisher.confirmedAfterReconnect() >= 500, 30_000, 20)
    expect(publisher.reconnections()).toBe(1)
    await publisher.stop()

    // everything left in the queue, on the new active
    const { connection: reader } = await connectToPair(urls, { timeoutMs: 5000 })
    connections.push(reader)
    const rch = await reader.createChannel()
    const { messageCount } = await rch.checkQueue('pair.q')
    const after: number[] = []
    if (messageCount > 0) {
      await new Promise<void>((resolve) => {
        void rch.consume('pair.q', (m) => {
          if (!m) return
          after.push(Number(m.content.toString()))
          if (after.length === messageCount) resolve()
        }, { noAck: true })
      })
    }
    await reader.close()

    const afterSet = new Set(after)
    expect(afterSet.size, 'a message delivered twice after the takeover').toBe(after.length)
    const redeliveredAcked = after.filter((seq) => ackedBeforeKill.has(seq))
    expect(redeliveredAcked, 'messages acked before the kill delivered again').toEqual([])
    const lost = [...confirmed].filter((seq) => !ackedBeforeKill.has(seq) && !afterSet.has(seq))
    expect(lost, 'confirmed messages lost').toEqual([])
    expect(after.every((seq) => seq >= 1 && seq <= publisher.published())).toBe(true)
    console.log(`[pair] ${confirmed.size} confirmed (${publisher.confirmedAfterReconnect()} after the reconnect), ${ackedBeforeKill.size} acked before the kill, ${after.length} consumed after`)

    // the takeover as the new active records it
    const ha = await api(httpB, 'GET', '/api/ha')
    expect(ha.status).toBe(200)
    expect(ha.body).toMatchObject({ mode: 'pair', node: 'b', role: 'active' })
    expect(ha.body.takeovers[0]).toMatchObject({ node: 'b', previous: 'a', reason: 'peer-died' })
    expect(ha.body.takeovers[0].took_ms).toBeLessThan(5000)
    expect(roles(ha.body)).toEqual({ a: 'down', b: 'active' })
    expect(b.output()).toMatch(/TAKEOVER from a \(peer-died\)/)

    // durable definitions
    expect((await api(httpB, 'GET', '/api/exchanges/%2F/pair.x')).body).toMatchObject({ name: 'pair.x', type: 'direct', durable: true })
    expect((await api(httpB, 'GET', '/api/queues/%2F/pair.q')).body).toMatchObject({ name: 'pair.q', durable: true })
    const bindings = (await api(httpB, 'GET', '/api/bindings/%2F/e/pair.x/q/pair.q')).body as { routing_key: string }[]
    expect(bindings.map((x) => x.routing_key)).toEqual(['k'])
    expect((await api(httpB, 'GET', '/api/policies/%2F/pair-policy')).body).toMatchObject({ pattern: '^pair\\.', 'apply-to': 'queues', definition: { 'max-length': 1_000_000 } })
    expect((await api(httpB, 'GET', '/api/whoami', undefined, 'pair-user', 'pw')).body).toMatchObject({ name: 'pair-user' })
  }, 120_000)

  it('the old active, started again, is the standby; /api/ha shows roles and takeovers; a clean stop hands back', async () => {
    expect(b, 'needs the takeover test').toBeDefined()
    const [amqpA, httpA, amqpB] = ports
    a = member(dataDir, 'a', amqpA, httpA)
    await a.waitForOutput(/is STANDBY/)
    expect(await acceptsConnections(amqpA)).toBe(false)
    const ha = await a.get('/api/ha')
    expect(ha.status).toBe(200)
    expect(ha.body).toMatchObject({ mode: 'pair', node: 'a', role: 'standby' })
    expect(roles(ha.body)).toEqual({ a: 'standby', b: 'active' })
    expect(ha.body.takeovers.slice(0, 2)).toMatchObject([
      { node: 'b', previous: 'a', reason: 'peer-died' },
      { node: 'a', previous: null, reason: 'start' },
    ])
    const refused = await a.get('/api/queues')
    expect(refused.status).toBe(503)
    expect(refused.body).toEqual({ error: 'standby', reason: `this broker is the standby of a pair; the active one is b at 127.0.0.1:${amqpB}` })

    // a broker started on the pair's directory without --pair is refused while a member holds the lock
    const single = await spawnBrokerProcess(dataDir, ['--host', '127.0.0.1'], 20_000).then(
      async (p) => {
        await p.kill9()
        return 'started'
      },
      (e: Error) => e.message,
    )
    expect(single).toMatch(/belongs to an active\/standby pair/)

    // b stops cleanly: a takes over, and says why
    const { code } = await b.terminate()
    expect(code).toBe(0)
    await a.waitForOutput(/is ACTIVE/, 10_000)
    const back = await a.get('/api/ha')
    expect(back.body.role).toBe('active')
    expect(back.body.takeovers[0]).toMatchObject({ node: 'a', previous: 'b', reason: 'peer-stopped' })
    expect(roles(back.body)).toEqual({ a: 'active', b: 'down' })
    expect((await a.get('/api/queues/%2F/pair.q')).status).toBe(200)
  }, 60_000)
})

describe.skipIf(external)('the storage lock: never two actives', () => {
  afterEach(killAll)

  it(`${RACE_ROUNDS} rounds of two members started at the same moment: exactly one active, the other stays standby`, async () => {
    for (let round = 0; round < RACE_ROUNDS; round++) {
      const dir = tempDir()
      const [amqpA, httpA, amqpB, httpB] = await freePorts(4)
      const pair = [member(dir, 'a', amqpA, httpA), member(dir, 'b', amqpB, httpB)]
      await Promise.all(pair.map((p) => p.waitForOutput(/is (ACTIVE|STANDBY)/)))
      await sleep(1000) // the standby keeps trying the lock meanwhile
      const announced = pair.map((p) => p.announced())
      expect(announced.filter((r) => r === 'active'), `round ${round}: ${announced.join(', ')}`).toHaveLength(1)
      const listening = await Promise.all([acceptsConnections(amqpA), acceptsConnections(amqpB)])
      expect(listening.filter(Boolean)).toHaveLength(1)
      expect(listening).toEqual(announced.map((r) => r === 'active'))
      await killAll()
    }
  }, 40_000 + RACE_ROUNDS * 15_000)

  it(`${KILL_WHILE_STARTING_ROUNDS} rounds of killing the active while the other member starts: the other ends active, alone`, async () => {
    for (let round = 0; round < KILL_WHILE_STARTING_ROUNDS; round++) {
      const dir = tempDir()
      const [amqpA, httpA, amqpB, httpB] = await freePorts(4)
      const first = member(dir, 'a', amqpA, httpA)
      await first.waitForOutput(/is ACTIVE/)
      const second = member(dir, 'b', amqpB, httpB)
      await sleep(round * 400) // from "before the second has loaded" to "while it starts"
      await first.kill9()
      await second.waitForOutput(/is ACTIVE/, 15_000)
      expect(await acceptsConnections(amqpB)).toBe(true)
      expect(await acceptsConnections(amqpA)).toBe(false)
      const ha = await second.get('/api/ha')
      expect(roles(ha.body)).toEqual({ a: 'down', b: 'active' })
      expect(['start', 'peer-died']).toContain(ha.body.takeovers[0].reason)
      await killAll()
    }
  }, 40_000 + KILL_WHILE_STARTING_ROUNDS * 15_000)

  it('a member that cannot take the lock stays standby, and becomes active once the lock is free', async () => {
    const dir = tempDir()
    const lock = new PairLock(lockFile(dir))
    expect(lock.tryAcquire('test-process', 0)).toBe(true)
    try {
      const [amqpA, httpA] = await freePorts(2)
      const m = member(dir, 'a', amqpA, httpA)
      await m.waitForOutput(/is STANDBY/)
      await sleep(1500) // some 7 attempts of the lock
      expect(m.announced()).toBe('standby')
      expect(await acceptsConnections(amqpA)).toBe(false)
      expect((await m.get('/api/ha')).body).toMatchObject({ role: 'standby' })
      lock.release()
      await m.waitForOutput(/is ACTIVE/, 5000)
      expect(await acceptsConnections(amqpA)).toBe(true)
      // nothing was seen active while it waited: the takeover is recorded as a start
      expect((await m.get('/api/ha')).body.takeovers[0]).toMatchObject({ node: 'a', previous: null, reason: 'start' })
      // and now the test process is the one refused
      expect(lock.tryAcquire('test-process', 0)).toBe(false)
    } finally {
      lock.release()
    }
  }, 40_000)
})
