// Dynamic shovels of the embedded broker against a real RabbitMQ 3.10.8 node: 100,000 persistent messages go from
// Warren to RabbitMQ and back, each way by a Warren shovel in on-confirm mode, with none lost and none extra
// (checked by message id and content).
import amqp, { type ChannelModel } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRabbitMQNode, type RabbitMQNode } from '../e2e/helpers/rabbitmq'
import { startHttpBroker, type HttpBroker, type Json } from '../helpers/http'

const TOTAL = Number(process.env.WARREN_SHOVEL_MESSAGES ?? 100_000)

let rabbit: RabbitMQNode
let warren: HttpBroker
const connections: ChannelModel[] = []

beforeAll(async () => {
  ;[rabbit, warren] = await Promise.all([startRabbitMQNode(), startHttpBroker()])
}, 120_000)

afterAll(async () => {
  for (const c of connections.splice(0)) await c.close().catch(() => undefined)
  await warren?.handle.close()
  await rabbit?.stop()
}, 60_000)

async function connect(url: string): Promise<ChannelModel> {
  const c = await amqp.connect(url)
  c.on('error', () => undefined)
  connections.push(c)
  return c
}

async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 200))
  }
}

const warrenCount = (queue: string) => warren.handle.core.vhosts.get('/')?.queues.get(queue)?.messageCount ?? -1

describe('shovels between the embedded broker and RabbitMQ', () => {
  it(`moves ${TOTAL.toLocaleString('en')} persistent messages to RabbitMQ and back with none lost and none extra (on-confirm)`, async () => {
    const rabbitUri = `amqp://guest:guest@${rabbit.amqpUrl.slice('amqp://'.length)}`
    const toRabbit = await warren.call('PUT', '/api/parameters/shovel/%2f/to-rabbit', {
      body: { value: { 'src-uri': 'amqp://', 'src-queue': 'rt.out', 'dest-uri': rabbitUri, 'dest-queue': 'rt.mid', 'ack-mode': 'on-confirm' } },
    })
    expect(toRabbit.status).toBe(201)
    const fromRabbit = await warren.call('PUT', '/api/parameters/shovel/%2f/from-rabbit', {
      body: { value: { 'src-uri': rabbitUri, 'src-queue': 'rt.mid', 'dest-uri': 'amqp://', 'dest-exchange': '', 'dest-exchange-key': 'rt.back' } },
    })
    expect(fromRabbit.status).toBe(201)
    const publisher = await connect(warren.amqpUrl)
    const pc = await publisher.createConfirmChannel()
    await pc.assertQueue('rt.back', { durable: true })
    await waitFor('both shovels running', async () => ((await warren.get('/api/shovels')).body as Json[]).every((s) => s.state === 'running'), 30_000)

    const started = Date.now()
    for (let id = 0; id < TOTAL; ) {
      const end = Math.min(TOTAL, id + 5000)
      for (; id < end; id++) pc.sendToQueue('rt.out', Buffer.from(`payload of message ${id}`), { persistent: true, messageId: String(id), contentType: 'text/plain' })
      await pc.waitForConfirms()
    }
    await waitFor(`${TOTAL} messages back in Warren`, () => warrenCount('rt.back') >= TOTAL && warrenCount('rt.out') === 0, 170_000)
    const seconds = (Date.now() - started) / 1000
    console.log(`[shovel] ${TOTAL} persistent messages Warren → RabbitMQ → Warren in ${seconds.toFixed(1)} s (${Math.round(TOTAL / seconds)} msg/s)`)

    // RabbitMQ's queue in between is empty, and nothing more arrives
    const rc = await (await connect(rabbitUri)).createChannel()
    expect((await rc.checkQueue('rt.mid')).messageCount).toBe(0)
    const status = (await warren.get('/api/shovels')).body as Json[]
    expect(status.map((s) => [s.name, s.state, s.messages_transferred, s.last_error])).toEqual([
      ['from-rabbit', 'running', TOTAL, null],
      ['to-rabbit', 'running', TOTAL, null],
    ])
    expect(warrenCount('rt.back')).toBe(TOTAL)

    // every id exactly once, with its body and properties
    const cc = await (await connect(warren.amqpUrl)).createChannel()
    await cc.prefetch(2000)
    const seen = new Uint8Array(TOTAL)
    let received = 0
    let wrong = 0
    await new Promise<void>((resolve) => {
      void cc.consume('rt.back', (m) => {
        if (!m) return
        const id = Number(m.properties.messageId)
        if (!(id >= 0 && id < TOTAL) || m.content.toString() !== `payload of message ${id}` || m.properties.deliveryMode !== 2 || m.properties.contentType !== 'text/plain') wrong++
        else seen[id]++
        received++
        cc.ack(m)
        if (received === TOTAL) resolve()
      })
    })
    expect(wrong).toBe(0)
    expect(seen.every((n) => n === 1)).toBe(true)
    await new Promise((r) => setTimeout(r, 200))
    expect(warrenCount('rt.back')).toBe(0)
  }, 240_000)
})
