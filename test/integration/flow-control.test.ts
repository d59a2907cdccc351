// Flow control of the embedded broker: the memory alarm blocks publishers (connection.blocked, socket no longer
// read) until consumers catch up, and a consumer that stops reading does not make the broker buffer without bound.
import { connect as netConnect } from 'node:net'
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { sleep, waitFor } from '../helpers/broker'

const WATERMARK = 4 * 1024 * 1024
let broker: BrokerHandle
let url: string

function useOwnBroker(memoryHighWatermark: number): void {
  beforeAll(async () => {
    broker = await startBroker({ port: 0, host: '127.0.0.1', memoryHighWatermark })
    url = `amqp://guest:guest@127.0.0.1:${broker.port}`
  })
  afterAll(async () => {
    await broker?.close()
  })
}

describe('memory alarm', () => {
  useOwnBroker(WATERMARK)

  it('blocks a publisher past the watermark with connection.blocked, and unblocks once consumers drain', async () => {
    const publisher = await amqp.connect(url)
    const events: string[] = []
    publisher.on('blocked', (reason: string) => events.push(`blocked:${reason}`))
    publisher.on('unblocked', () => events.push('unblocked'))
    const ch = await publisher.createChannel()
    const queue = `alarm-${Date.now()}`
    await ch.assertQueue(queue, { autoDelete: false })
    const body = Buffer.alloc(64 * 1024, 1)
    // 16 MB offered, four times the watermark; amqplib buffers what the broker does not read
    for (let i = 0; i < 256; i++) ch.sendToQueue(queue, body)
    await waitFor(() => events.includes('blocked:low on memory'), 5_000)
    // the broker stopped reading: what it holds stays near the watermark, far below what was offered
    await sleep(300)
    expect(broker.core.memory.used).toBeLessThan(WATERMARK + 2 * 1024 * 1024)
    expect(broker.core.memory.alarm).toBe(true)

    // a consumer on another connection drains the queue (the blocked one is not read, as in RabbitMQ, so it could
    // not even subscribe); the publisher gets unblocked and the rest arrives
    const consumer = await amqp.connect(url)
    const cch = await consumer.createChannel()
    let received = 0
    await cch.consume(queue, () => received++, { noAck: true })
    await waitFor(() => received === 256, 15_000)
    await waitFor(() => events.includes('unblocked'), 5_000)
    expect(broker.core.memory.alarm).toBe(false)
    await cch.deleteQueue(queue)
    await consumer.close()
    await publisher.close()
  })
})

describe('slow consumer', () => {
  useOwnBroker(1024 * 1024 * 1024)
  it('a consumer that stops reading its socket does not make the broker push every message into buffers', async () => {
    const conn = await amqp.connect(url)
    const ch = await conn.createChannel()
    const queue = `slow-${Date.now()}`
    await ch.assertQueue(queue, { autoDelete: false })

    // a raw client consumes with no-ack (no prefetch limit applies) and then never reads its socket
    const socket = netConnect(broker.port, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    const frames = rawConsumerHandshake(queue)
    socket.write(frames.header)
    let handshakeBytes = Buffer.alloc(0)
    let step = 0
    await new Promise<void>((resolve) => {
      socket.on('data', (chunk) => {
        handshakeBytes = Buffer.concat([handshakeBytes, chunk])
        // answer connection.start, connection.tune, then open the channel and consume; then stop reading
        while (step < frames.replies.length && containsMethod(handshakeBytes, frames.expect[step])) {
          socket.write(frames.replies[step])
          step++
        }
        if (step === frames.replies.length && containsMethod(handshakeBytes, [60, 21])) {
          socket.pause()
          resolve()
        }
      })
    })

    const body = Buffer.alloc(64 * 1024, 2)
    const total = 512 // 32 MB
    for (let i = 0; i < total; i++) if (!ch.sendToQueue(queue, body)) await new Promise((resolve) => ch.once('drain', resolve))
    await sleep(500)
    const { messageCount } = await ch.checkQueue(queue)
    // at most the socket's buffers (~16 MB plus the kernel's) were handed out; the rest waits in the queue
    expect(messageCount).toBeGreaterThan(total / 4)
    socket.destroy()
    await ch.deleteQueue(queue)
    await conn.close()
  })
})

// --- a minimal raw consumer: just enough AMQP to subscribe with no-ack ------------------------------------------

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const out = Buffer.alloc(payload.length + 8)
  out.writeUInt8(type, 0)
  out.writeUInt16BE(channel, 1)
  out.writeUInt32BE(payload.length, 3)
  payload.copy(out, 7)
  out.writeUInt8(0xce, payload.length + 7)
  return out
}

function method(classId: number, methodId: number, args: Buffer): Buffer {
  const head = Buffer.alloc(4)
  head.writeUInt16BE(classId, 0)
  head.writeUInt16BE(methodId, 2)
  return Buffer.concat([head, args])
}

const shortstr = (s: string) => Buffer.concat([Buffer.from([Buffer.byteLength(s)]), Buffer.from(s)])
const longstr = (b: Buffer) => {
  const len = Buffer.alloc(4)
  len.writeUInt32BE(b.length, 0)
  return Buffer.concat([len, b])
}
const u16 = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(n, 0)
  return b
}
const u32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(n, 0)
  return b
}

function rawConsumerHandshake(queue: string) {
  const startOk = method(10, 11, Buffer.concat([u32(0), shortstr('PLAIN'), longstr(Buffer.from('\0guest\0guest')), shortstr('en_US')]))
  const tuneOk = method(10, 31, Buffer.concat([u16(2047), u32(131072), u16(0)]))
  const open = method(10, 40, Buffer.concat([shortstr('/'), shortstr(''), Buffer.from([0])]))
  const channelOpen = method(20, 10, shortstr(''))
  // basic.consume: reserved, queue, consumer tag, bits (no-local, no-ack=1, exclusive, no-wait), arguments
  const consume = method(60, 20, Buffer.concat([u16(0), shortstr(queue), shortstr('raw'), Buffer.from([0b0010]), u32(0)]))
  return {
    header: Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'),
    expect: [
      [10, 10],
      [10, 30],
      [10, 41],
    ] as [number, number][],
    replies: [frame(1, 0, startOk), Buffer.concat([frame(1, 0, tuneOk), frame(1, 0, open)]), Buffer.concat([frame(1, 1, channelOpen), frame(1, 1, consume)])],
  }
}

function containsMethod(bytes: Buffer, [classId, methodId]: [number, number] | number[]): boolean {
  for (let offset = 0; offset + 11 <= bytes.length; ) {
    const size = bytes.readUInt32BE(offset + 3)
    if (bytes[offset] === 1 && bytes.readUInt16BE(offset + 7) === classId && bytes.readUInt16BE(offset + 9) === methodId) return true
    offset += size + 8
  }
  return false
}
