// The pair's long run (`npm run test:soak` only; the short form is test/integration/pair.test.ts in `npm test`):
// CYCLES kill -9 of whichever member is active, under a confirmed persistent publishing load and an acking
// consumer, both on the reconnect loop over the two addresses; the killed member is started again each time and
// becomes the standby. Promise checked over the whole run (the same as in the integration test): every confirmed
// message is acked once or still in the queue at the end; a message whose ack was committed before a kill (acks
// paused, 300 ms, kill) is never delivered again; each takeover accepts connections < 5 s after the kill.
// Then the lock races at length: 20 rounds of two members started at once, 10 rounds of the active killed at a
// random moment while the other starts; never two actives.
import { rmSync } from 'node:fs'
import type { Channel, ChannelModel } from 'amqplib'
import { afterAll, describe, expect, it } from 'vitest'
import { makeTempDir, sleep, waitFor } from '../helpers/broker'
import { acceptsConnections, connectToPair, freePorts, spawnPairMember, startPairPublisher, type PairProcess } from '../helpers/pair'
import { SOAK, scale, seeded } from './config'

const CYCLES = scale(2, 20)

describe.runIf(SOAK)('pair soak: repeated kill -9 of the active under load', () => {
  const dataDir = makeTempDir('warren-pair-soak-')
  const members: PairProcess[] = []
  const connections: ChannelModel[] = []
  afterAll(async () => {
    for (const c of connections) await c.close().catch(() => {})
    await Promise.all(members.map((m) => m.kill9()))
    rmSync(dataDir, { recursive: true, force: true })
  })

  it(`${CYCLES} takeovers: no confirmed message lost, no committed ack undone, each takeover < 5 s`, async () => {
    const [amqpA, httpA, amqpB, httpB] = await freePorts(4)
    const spec = { a: { amqp: amqpA, http: httpA }, b: { amqp: amqpB, http: httpB } }
    const running: Record<'a' | 'b', PairProcess> = {
      a: spawnPairMember(dataDir, 'a', amqpA, httpA),
      b: undefined as unknown as PairProcess,
    }
    members.push(running.a)
    await running.a.waitForOutput(/is ACTIVE/)
    running.b = spawnPairMember(dataDir, 'b', amqpB, httpB)
    members.push(running.b)
    await running.b.waitForOutput(/is STANDBY/)
    const setup = await connectToPair([`amqp://guest:guest@127.0.0.1:${amqpA}`])
    const sch = await setup.connection.createChannel()
    await sch.assertQueue('soak.pair', { durable: true })
    await setup.connection.close()

    const urls = [`amqp://guest:guest@127.0.0.1:${amqpA}`, `amqp://guest:guest@127.0.0.1:${amqpB}`]
    const acked = new Set<number>()
    const violations: string[] = []
    let stop = false
    let acking = true

    const publisher = startPairPublisher(urls, (ch, body, done) => ch.sendToQueue('soak.pair', body, { persistent: true }, done), connections, 30_000)
    const confirmed = publisher.confirmed

    const consumer = (async () => {
      while (!stop) {
        const { connection } = await connectToPair(urls, { retryDelayMs: 50, timeoutMs: 30_000 })
        connections.push(connection)
        connection.on('error', () => {})
        const closed = new Promise<void>((resolve) => connection.on('close', () => resolve()))
        const ch: Channel = await connection.createChannel()
        ch.on('error', () => {})
        await ch.prefetch(100)
        await ch.consume('soak.pair', (m) => {
          if (!m) return
          const seq = Number(m.content.toString())
          if (acked.has(seq)) violations.push(`${seq} delivered again after its ack was committed`)
          if (!acking) return
          acked.add(seq)
          ch.ack(m)
        })
        await Promise.race([closed, waitFor(() => stop, 10 * 60_000, 50)])
        if (stop) await connection.close().catch(() => {})
      }
    })()

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      const targetConfirmed = confirmed.size + 2000
      const targetAcked = acked.size + 1000
      await waitFor(() => confirmed.size >= targetConfirmed && acked.size >= targetAcked, 120_000, 20)
      const activeName = (['a', 'b'] as const).find((n) => running[n].announced() === 'active')!
      const standbyName = activeName === 'a' ? 'b' : 'a'
      acking = false
      await sleep(300)
      const killedAt = Date.now()
      await running[activeName].kill9()
      await waitFor(() => acceptsConnections(spec[standbyName].amqp), 10_000, 10)
      const took = Date.now() - killedAt
      console.log(`[pair soak] cycle ${cycle + 1}: ${activeName} killed, ${standbyName} accepting after ${took} ms; ${confirmed.size} confirmed, ${acked.size} acked`)
      expect(took).toBeLessThan(5000)
      acking = true
      running[activeName] = spawnPairMember(dataDir, activeName, spec[activeName].amqp, spec[activeName].http)
      members.push(running[activeName])
      await running[activeName].waitForOutput(/is STANDBY/)
    }
    const finalTarget = acked.size + 500
    await waitFor(() => acked.size >= finalTarget, 60_000, 20)
    stop = true
    await publisher.stop()
    await consumer

    const { connection } = await connectToPair(urls, { timeoutMs: 10_000 })
    connections.push(connection)
    const ch = await connection.createChannel()
    const { messageCount } = await ch.checkQueue('soak.pair')
    const left: number[] = []
    if (messageCount > 0) {
      await new Promise<void>((resolve) => {
        void ch.consume('soak.pair', (m) => {
          if (!m) return
          left.push(Number(m.content.toString()))
          if (left.length === messageCount) resolve()
        }, { noAck: true })
      })
    }
    expect(violations).toEqual([])
    const leftSet = new Set(left)
    expect(leftSet.size).toBe(left.length)
    expect(left.filter((seq) => acked.has(seq))).toEqual([])
    expect([...confirmed].filter((seq) => !acked.has(seq) && !leftSet.has(seq))).toEqual([])
  }, 30 * 60_000)
})

describe.runIf(SOAK)('pair soak: lock races', () => {
  const dirs: string[] = []
  const running: PairProcess[] = []
  const killAll = async () => {
    await Promise.all(running.splice(0).map((m) => m.kill9()))
  }
  afterAll(async () => {
    await killAll()
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
  })
  const start = (dir: string, node: string, amqp: number, http: number) => {
    const m = spawnPairMember(dir, node, amqp, http)
    running.push(m)
    return m
  }
  const tempDir = () => {
    const dir = makeTempDir('warren-pair-race-')
    dirs.push(dir)
    return dir
  }

  it('20 rounds of two members started at once: one active, the other stays standby', async () => {
    const random = seeded('pair-race')
    for (let round = 0; round < 20; round++) {
      const dir = tempDir()
      const [amqpA, httpA, amqpB, httpB] = await freePorts(4)
      const first = start(dir, 'a', amqpA, httpA)
      await sleep(random.int(0, 30))
      const second = start(dir, 'b', amqpB, httpB)
      await Promise.all([first, second].map((m) => m.waitForOutput(/is (ACTIVE|STANDBY)/)))
      await sleep(1000)
      const announced = [first.announced(), second.announced()]
      expect(announced.filter((r) => r === 'active'), `round ${round}`).toHaveLength(1)
      expect(await Promise.all([acceptsConnections(amqpA), acceptsConnections(amqpB)])).toEqual(announced.map((r) => r === 'active'))
      await killAll()
    }
  }, 20 * 60_000)

  it('10 rounds of the active killed at a random moment while the other starts: the other ends active, alone', async () => {
    const random = seeded('pair-kill-while-starting')
    for (let round = 0; round < 10; round++) {
      const dir = tempDir()
      const [amqpA, httpA, amqpB, httpB] = await freePorts(4)
      const first = start(dir, 'a', amqpA, httpA)
      await first.waitForOutput(/is ACTIVE/)
      const second = start(dir, 'b', amqpB, httpB)
      await sleep(random.int(0, 2500))
      await first.kill9()
      await second.waitForOutput(/is ACTIVE/, 15_000)
      expect(await acceptsConnections(amqpB)).toBe(true)
      expect(await acceptsConnections(amqpA)).toBe(false)
      await killAll()
    }
  }, 20 * 60_000)
})
