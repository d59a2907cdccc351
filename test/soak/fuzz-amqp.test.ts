// Bad input over TCP: a seeded mutation fuzzer feeds the running broker mutated versions of valid client frame
// sequences (bytes, frame sizes, frame types, channel numbers, method ids, field-table type tags, content headers and
// bodies, frame order) and mutated handshakes (SASL mechanism and response, client-properties table, tune-ok,
// connection.open). For every case the broker must either carry on (a probe channel.open gets its open-ok) or end
// the connection with connection.close carrying a protocol error code (501, 502, 503, 504, 505, 506, 530, 540; 403
// for a refused login) and a non-empty reply text; channel errors must carry a channel code and text. Never 541
// INTERNAL_ERROR (an exception the broker did not expect), never an unhandled exception, never a socket dropped
// without a close once the connection is open. After each batch a fresh amqplib client still publishes and gets.
// Thousands of cases in `npm test`, 20,000 + 5,000 in `npm run test:soak`; the seed is printed.
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import {
  Decimal,
  FRAME_END,
  TypedValue,
  bodyFrames,
  contentHeaderFrame,
  encodeBasicProperties,
  encodeFieldTable,
  methodFrame,
  type FieldTable,
} from '../../broker/protocol'
import { PROTOCOL_HEADER, RawClient, decodeClose, type CloseFrame, type Frame } from '../helpers/raw'
import { scale, seeded, type Seeded } from './config'

const CASES = scale(2000, 20_000)
const SASL_CASES = scale(400, 5_000)
const PARALLEL = 12
const BATCH = 250
/** the probe's channel: above anything the corpus uses */
const PROBE_CHANNEL = 2047

const CONNECTION_CODES = new Set([501, 502, 503, 504, 505, 506, 530, 540])
const CHANNEL_CODES = new Set([403, 404, 405, 406, 540])

// --- the corpus: valid client frame sequences (channel 1) -------------------------------------------------------

const ALL_TYPES: FieldTable = {
  bool: true,
  i8: new TypedValue('b', -5),
  u8: new TypedValue('B', 200),
  i16: new TypedValue('s', -300),
  u16: new TypedValue('u', 60000),
  i32: -70000,
  u32: new TypedValue('i', 4000000000),
  i64: 2 ** 40,
  f32: new TypedValue('f', 1.5),
  f64: 2.25,
  dec: new Decimal(2, 12345),
  str: 'héllo',
  bytes: Buffer.from([0, 1, 255]),
  list: [1, 'two', null, { three: 3 }],
  ts: new Date(1_700_000_000_000),
  nested: { deeper: { deepest: [true, false] } },
  none: null,
}

function publish(ch: number, exchange: string, routingKey: string, body: Buffer, headers: FieldTable = ALL_TYPES, mandatory = false): Buffer[] {
  return [
    methodFrame(ch, 'basic.publish', { exchange, routingKey, mandatory, immediate: false }),
    contentHeaderFrame(ch, 60, body.length, encodeBasicProperties({ contentType: 'text/plain', deliveryMode: 2, priority: 3, headers, messageId: 'm-1', timestamp: 1_700_000_000, expiration: '60000' })),
    ...bodyFrames(ch, body, 64),
  ]
}

function corpus(): Buffer[][] {
  const open = methodFrame(1, 'channel.open', {})
  const q = 'fuzz-q'
  const declare = methodFrame(1, 'queue.declare', { queue: q, passive: false, durable: false, exclusive: true, autoDelete: true, noWait: false, arguments: { 'x-message-ttl': 60000, 'x-max-length': 100, 'x-dead-letter-exchange': 'amq.fanout', 'x-max-priority': 5, extra: ALL_TYPES } })
  return [
    [open, declare, methodFrame(1, 'queue.bind', { queue: q, exchange: 'amq.headers', routingKey: '', noWait: false, arguments: { 'x-match': 'any', ...ALL_TYPES } }), ...publish(1, 'amq.headers', '', Buffer.from('x'.repeat(150))), methodFrame(1, 'basic.get', { queue: q, noAck: false })],
    [open, methodFrame(1, 'exchange.declare', { exchange: 'fuzz-x', type: 'headers', passive: false, durable: false, autoDelete: true, internal: false, noWait: false, arguments: { 'alternate-exchange': 'amq.direct', ...ALL_TYPES } }), methodFrame(1, 'exchange.bind', { destination: 'fuzz-x', source: 'amq.topic', routingKey: 'a.#', noWait: false, arguments: ALL_TYPES }), methodFrame(1, 'exchange.unbind', { destination: 'fuzz-x', source: 'amq.topic', routingKey: 'a.#', noWait: false, arguments: ALL_TYPES }), methodFrame(1, 'exchange.delete', { exchange: 'fuzz-x', ifUnused: false, noWait: false })],
    [open, methodFrame(1, 'confirm.select', { nowait: false }), declare, ...publish(1, '', q, Buffer.from('confirmed'), ALL_TYPES, true), ...publish(1, 'amq.direct', 'nowhere', Buffer.alloc(0), {}, true)],
    [open, declare, methodFrame(1, 'basic.qos', { prefetchSize: 0, prefetchCount: 10, global: false }), methodFrame(1, 'basic.consume', { queue: q, consumerTag: 'c1', noLocal: false, noAck: false, exclusive: false, noWait: false, arguments: { 'x-priority': 5, ...ALL_TYPES } }), ...publish(1, '', q, Buffer.from('to consumer')), methodFrame(1, 'basic.ack', { deliveryTag: 1, multiple: false }), methodFrame(1, 'basic.cancel', { consumerTag: 'c1', noWait: false })],
    [open, methodFrame(1, 'tx.select', {}), declare, ...publish(1, '', q, Buffer.from('in tx')), methodFrame(1, 'tx.commit', {}), methodFrame(1, 'tx.rollback', {})],
    [open, declare, ...publish(1, '', q, Buffer.from('r')), methodFrame(1, 'basic.get', { queue: q, noAck: false }), methodFrame(1, 'basic.reject', { deliveryTag: 1, requeue: true }), methodFrame(1, 'basic.nack', { deliveryTag: 0, multiple: true, requeue: false }), methodFrame(1, 'basic.recover', { requeue: true })],
    [open, methodFrame(1, 'channel.flow', { active: false }), declare, methodFrame(1, 'queue.purge', { queue: q, noWait: false }), methodFrame(1, 'queue.unbind', { queue: q, exchange: 'amq.direct', routingKey: 'k', arguments: ALL_TYPES }), methodFrame(1, 'queue.delete', { queue: q, ifUnused: false, ifEmpty: false, noWait: false }), methodFrame(1, 'channel.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 })],
    [Buffer.from([8, 0, 0, 0, 0, 0, 0, FRAME_END]), methodFrame(0, 'connection.update-secret', { newSecret: Buffer.from('secret'), reason: 'rotate' }), open, ...publish(1, 'amq.topic', 'a.b', Buffer.from('y'.repeat(300)))],
  ]
}

// --- mutations ------------------------------------------------------------------------------------------------

const TYPE_TAGS = [...'tbBsuIilfdDSxATFV', ...'cCgGhHjJkKmMnNoOpPqQrRvwWyYzZ!?\0\xff']

/** Rebuilds a frame's envelope around a payload, keeping the size field right (most mutations) */
function envelope(type: number, channel: number, payload: Buffer, end = FRAME_END): Buffer {
  const out = Buffer.alloc(payload.length + 8)
  out[0] = type
  out.writeUInt16BE(channel, 1)
  out.writeUInt32BE(payload.length, 3)
  payload.copy(out, 7)
  out[out.length - 1] = end
  return out
}

interface Parts {
  type: number
  channel: number
  payload: Buffer
}

function parts(frame: Buffer): Parts {
  return { type: frame[0], channel: frame.readUInt16BE(1), payload: Buffer.from(frame.subarray(7, frame.length - 1)) }
}

function mutateFrame(frame: Buffer, r: Seeded): Buffer {
  const p = parts(frame)
  const pos = () => r.int(0, Math.max(0, p.payload.length - 1))
  switch (r.int(0, 13)) {
    case 0: // one random byte
      if (p.payload.length) p.payload[pos()] = r.int(0, 255)
      break
    case 1: // several random bytes
      for (let k = r.int(2, 8); k > 0 && p.payload.length; k--) p.payload[pos()] = r.int(0, 255)
      break
    case 2: // a field-table type tag (or anything that could be mistaken for one)
      if (p.payload.length) p.payload[pos()] = r.pick(TYPE_TAGS).charCodeAt(0) & 0xff
      break
    case 3: // a length-like nudge: off by one up or down
      if (p.payload.length) {
        const at = pos()
        p.payload[at] = (p.payload[at] + (r.rnd() < 0.5 ? 1 : 255)) & 0xff
      }
      break
    case 4: // a 32-bit length somewhere set to something large
      if (p.payload.length >= 4) p.payload.writeUInt32BE(r.pick([0xffffffff, 0x7fffffff, 0x10000, p.payload.length + 1]), r.int(0, p.payload.length - 4))
      break
    case 5: // another method id
      if (p.type === 1 && p.payload.length >= 4) {
        p.payload.writeUInt16BE(r.pick([10, 20, 40, 50, 60, 85, 90, r.int(0, 65535)]), 0)
        p.payload.writeUInt16BE(r.pick([10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 60, 70, 80, 90, 100, 110, 120, r.int(0, 65535)]), 2)
      }
      break
    case 6: // another frame type
      p.type = r.pick([0, 1, 2, 3, 4, 8, 9, 255])
      break
    case 7: // another channel
      p.channel = r.pick([0, 1, 2, 3, 2046, 2048, 65535, r.int(0, 65535)])
      break
    case 8: // truncated payload
      p.payload = p.payload.subarray(0, r.int(0, p.payload.length))
      break
    case 9: // extra bytes after the payload
      p.payload = Buffer.concat([p.payload, Buffer.from(Array.from({ length: r.int(1, 16) }, () => r.int(0, 255)))])
      break
    case 10: // a wrong frame-end octet
      return envelope(p.type, p.channel, p.payload, r.int(0, 254))
    case 11: {
      // a size field that lies (the reader then waits for bytes, or reads into the next frame)
      const out = envelope(p.type, p.channel, p.payload)
      out.writeUInt32BE(r.pick([0, 1, p.payload.length + 1, Math.max(0, p.payload.length - 1), 0xffffffff, 131072 + 1, r.int(0, 0xffff)]), 3)
      return out
    }
    case 12: // a content header's body size or property flags
      if (p.type === 2 && p.payload.length >= 14) {
        if (r.rnd() < 0.5) p.payload.writeBigUInt64BE(BigInt(r.pick([0, 1, 2 ** 32, 2 ** 53 - 1, r.int(0, 1000)])), 4)
        else p.payload.writeUInt16BE(r.int(0, 65535), 12)
      } else if (p.payload.length) p.payload[pos()] = r.int(0, 255)
      break
    default: // a random payload of the same size
      for (let i = 0; i < p.payload.length; i++) p.payload[i] = r.int(0, 255)
  }
  return envelope(p.type, p.channel, p.payload)
}

function mutateSequence(frames: Buffer[], r: Seeded): Buffer[] {
  const out = [...frames]
  for (let n = r.int(1, 3); n > 0; n--) {
    const i = r.int(0, out.length - 1)
    const roll = r.rnd()
    if (roll < 0.75) out[i] = mutateFrame(out[i], r)
    else if (roll < 0.83) out.splice(i, 1) // a frame missing (e.g. a content header)
    else if (roll < 0.91) out.splice(i, 0, out[i]) // a frame twice
    else if (out.length > 1) {
      const j = r.int(0, out.length - 1) // two frames swapped
      ;[out[i], out[j]] = [out[j], out[i]]
    }
  }
  return out
}

// --- running cases --------------------------------------------------------------------------------------------

interface Outcome {
  kind: 'carried-on' | 'connection-close' | 'socket-closed' | 'incomplete'
  close?: CloseFrame
  problems: string[]
}

function checkClose(close: CloseFrame, problems: string[], loginStage = false): void {
  const codes = close.closeClass === 10 ? (loginStage ? new Set([...CONNECTION_CODES, 403]) : CONNECTION_CODES) : CHANNEL_CODES
  if (!codes.has(close.replyCode)) problems.push(`${close.closeClass === 10 ? 'connection' : 'channel'}.close with code ${close.replyCode} (${close.replyText})`)
  if (close.replyText.trim() === '') problems.push(`${close.closeClass === 10 ? 'connection' : 'channel'}.close ${close.replyCode} without reply text`)
}

/** Reads the broker's answers until the probe's open-ok, a connection.close, the socket closing, or a timeout. */
async function observe(client: RawClient, problems: string[], opts: { probe: boolean; loginStage?: boolean; timeoutMs?: number }): Promise<Outcome> {
  const deadline = Date.now() + (opts.timeoutMs ?? 1500)
  for (;;) {
    let frame: Frame | undefined
    try {
      frame = await client.nextFrame(Math.max(1, deadline - Date.now()))
    } catch {
      return { kind: 'incomplete', problems }
    }
    if (!frame) return { kind: 'socket-closed', problems }
    const close = decodeClose(frame)
    if (close) {
      checkClose(close, problems, opts.loginStage)
      if (close.closeClass === 10) {
        client.sendConnectionCloseOk()
        return { kind: 'connection-close', close, problems }
      }
      client.write(methodFrameRaw(close.channel, 20, 41)) // channel.close-ok
      continue
    }
    if (opts.probe && frame.channel === PROBE_CHANNEL && frame.classId === 20 && frame.methodId === 11) return { kind: 'carried-on', problems }
  }
}

function methodFrameRaw(channel: number, classId: number, methodId: number): Buffer {
  const payload = Buffer.alloc(4)
  payload.writeUInt16BE(classId, 0)
  payload.writeUInt16BE(methodId, 2)
  return envelope(1, channel, payload)
}

/** A raw client without Nagle's delay (each case writes several small packets). */
async function rawClient(port: number): Promise<RawClient> {
  const client = await RawClient.connect(port)
  client.socket.setNoDelay(true)
  return client
}

async function runFrameCase(port: number, frames: Buffer[]): Promise<Outcome> {
  const client = await rawClient(port)
  try {
    await client.handshake()
    client.write(Buffer.concat(frames))
    client.write(methodFrame(PROBE_CHANNEL, 'channel.open', {}))
    const outcome = await observe(client, [], { probe: true })
    // once the connection is open, the broker must say why it ends it
    if (outcome.kind === 'socket-closed') outcome.problems.push('socket closed without connection.close')
    return outcome
  } finally {
    client.destroy()
  }
}

/** A handshake with one part mutated: the SASL mechanism or response, client properties, tune-ok or connection.open. */
function saslCase(r: Seeded): { startOk: Buffer; rest: Buffer[] } {
  // one in ten is a valid login among the garbage: it must still get in
  if (r.rnd() < 0.1) {
    const response = Buffer.from('\0guest\0guest')
    return {
      startOk: methodFrame(0, 'connection.start-ok', { clientProperties: { product: 'fuzz', capabilities: { authentication_failure_close: true } }, mechanism: 'PLAIN', response, locale: 'en_US' }),
      rest: [methodFrame(0, 'connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 0 }), methodFrame(0, 'connection.open', { virtualHost: '/' })],
    }
  }
  const capabilities: FieldTable = r.rnd() < 0.8 ? { authentication_failure_close: true, 'connection.blocked': true } : {}
  let mechanism = r.pick(['PLAIN', 'AMQPLAIN', 'PLAIN', 'EXTERNAL', 'plain', '', 'PLAIN\0', 'X'.repeat(255)])
  let response: Buffer
  const shape = r.int(0, 9)
  if (mechanism === 'AMQPLAIN' && shape < 5) {
    const table = encodeFieldTable(r.rnd() < 0.5 ? { LOGIN: 'guest', PASSWORD: r.rnd() < 0.5 ? 'guest' : 'wrong' } : { LOGIN: ALL_TYPES, PASSWORD: [1, 2] })
    response = table.subarray(4) // AMQPLAIN: a table without its length
    if (shape < 3) for (let k = r.int(1, 4); k > 0; k--) response[r.int(0, response.length - 1)] = r.int(0, 255)
  } else {
    const forms = [
      '\0guest\0guest',
      '\0guest\0wrong',
      'guest\0guest',
      '\0guest',
      '\0\0',
      '',
      '\0guest\0guest\0extra',
      `\0${'u'.repeat(300)}\0p`,
      '\0gu\u00e9st\0\u2713',
    ]
    response = Buffer.from(r.pick(forms), 'utf8')
    if (shape < 4 && response.length) for (let k = r.int(1, 3); k > 0; k--) response[r.int(0, response.length - 1)] = r.int(0, 255)
    if (shape === 9) response = Buffer.from(Array.from({ length: r.int(0, 64) }, () => r.int(0, 255)))
  }
  if (r.rnd() < 0.05) mechanism = String.fromCharCode(...Array.from({ length: r.int(0, 20) }, () => r.int(0, 255)))
  const props = encodeFieldTable({ product: 'fuzz', capabilities, extra: ALL_TYPES })
  const mechanismBytes = Buffer.from(mechanism, 'latin1').subarray(0, 255)
  const locale = Buffer.from('en_US')
  const respLen = Buffer.alloc(4)
  respLen.writeUInt32BE(response.length)
  let payload = Buffer.concat([Buffer.from([0, 10, 0, 11]), props, Buffer.from([mechanismBytes.length]), mechanismBytes, respLen, response, Buffer.from([locale.length]), locale])
  if (r.rnd() < 0.25) {
    // the client-properties table itself, or the whole start-ok, mutated
    payload = Buffer.from(payload)
    for (let k = r.int(1, 4); k > 0; k--) {
      const at = r.rnd() < 0.7 ? r.int(4, 4 + props.length - 1) : r.int(4, payload.length - 1)
      payload[at] = r.rnd() < 0.5 ? r.pick(TYPE_TAGS).charCodeAt(0) & 0xff : r.int(0, 255)
    }
  }
  let startOk = envelope(1, 0, payload)
  if (r.rnd() < 0.05) startOk = mutateFrame(startOk, r)
  const tuneOk = methodFrame(0, 'connection.tune-ok', { channelMax: r.pick([0, 1, 2047, 65535]), frameMax: r.pick([0, 4096, 4095, 131072, 0xffffffff, 8]), heartbeat: r.pick([0, 60, 65535]) })
  const open = methodFrame(0, 'connection.open', { virtualHost: r.pick(['/', '/', 'nope', '', '\0']) })
  return { startOk, rest: [r.rnd() < 0.1 ? mutateFrame(tuneOk, r) : tuneOk, r.rnd() < 0.1 ? mutateFrame(open, r) : open] }
}

async function runSaslCase(port: number, r: Seeded): Promise<Outcome> {
  const { startOk, rest } = saslCase(r)
  const client = await rawClient(port)
  const problems: string[] = []
  try {
    client.write(PROTOCOL_HEADER)
    await client.expectMethod(10, 10)
    client.write(startOk)
    // wait for tune (login accepted) or the refusal
    const first = await client.nextFrame(1500).catch(() => undefined)
    if (!first) return { kind: 'socket-closed', problems }
    const close = decodeClose(first)
    if (close) {
      checkClose(close, problems, true)
      return { kind: 'connection-close', close, problems }
    }
    if (first.classId !== 10 || first.methodId !== 30) problems.push(`unexpected ${first.classId}.${first.methodId} after start-ok`)
    client.write(Buffer.concat(rest))
    client.write(methodFrame(PROBE_CHANNEL, 'channel.open', {}))
    const outcome = await observe(client, problems, { probe: true, loginStage: true })
    return outcome
  } finally {
    client.destroy()
  }
}

// --- the test -------------------------------------------------------------------------------------------------

describe('AMQP fuzzing over TCP', () => {
  let broker: BrokerHandle
  const errors: string[] = []
  const onUncaught = (error: unknown) => errors.push(`uncaught: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  beforeAll(async () => {
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUncaught)
    broker = await startBroker({
      port: 0,
      host: '127.0.0.1',
      logger: { info() {}, warn() {}, error: (message) => errors.push(`logged error: ${message}`) },
    })
  })
  afterAll(async () => {
    await broker?.close()
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onUncaught)
  })

  async function stillServes(): Promise<void> {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
    try {
      const ch = await conn.createConfirmChannel()
      const { queue } = await ch.assertQueue('', { exclusive: true })
      ch.sendToQueue(queue, Buffer.from('still here'))
      await ch.waitForConfirms()
      const m = await ch.get(queue, { noAck: true })
      expect(m && m.content.toString()).toBe('still here')
    } finally {
      await conn.close()
    }
  }

  async function runAll(label: string, total: number, one: (i: number) => Promise<{ outcome: Outcome; input: string }>): Promise<Map<string, number>> {
    const tally = new Map<string, number>()
    const failures: string[] = []
    for (let start = 0; start < total; start += BATCH) {
      const end = Math.min(total, start + BATCH)
      let next = start
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < end) {
            const i = next++
            const { outcome, input } = await one(i)
            const key = outcome.close ? `${outcome.kind} ${outcome.close.replyCode}` : outcome.kind
            tally.set(key, (tally.get(key) ?? 0) + 1)
            if (outcome.problems.length > 0 && failures.length < 10) failures.push(`${label} case ${i}: ${outcome.problems.join('; ')}; input ${input.slice(0, 400)}`)
          }
        }),
      )
      expect(failures, failures.join('\n')).toEqual([])
      expect(errors, errors.join('\n')).toEqual([])
      await stillServes()
    }
    return tally
  }

  it('names that are also JavaScript object keys are plain names (exchange types, argument keys)', async () => {
    for (const type of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const client = await rawClient(broker.port)
      await client.handshake()
      await client.openChannel(1)
      client.write(methodFrame(1, 'exchange.declare', { exchange: `x-${type}`, type, passive: false, durable: false, autoDelete: false, internal: false, noWait: false, arguments: {} }))
      const close = await client.expectClose()
      // RabbitMQ: connection.close 503 COMMAND_INVALID "invalid exchange type" (never 541 INTERNAL_ERROR)
      expect([close.closeClass, close.replyCode], close.replyText).toEqual([10, 503])
      client.destroy()
    }
    const client = await rawClient(broker.port)
    await client.handshake()
    await client.openChannel(1)
    const args = { __proto__: { 'x-max-length': 1 }, constructor: 'c', 'x-message-ttl': 1000 } as unknown as FieldTable
    Object.defineProperty(args, '__proto__', { value: { 'x-max-length': 1 }, enumerable: true })
    client.write(methodFrame(1, 'queue.declare', { queue: '', passive: false, durable: false, exclusive: true, autoDelete: true, noWait: false, arguments: args }))
    await client.expectMethod(50, 11)
    client.destroy()
    expect(errors, errors.join('\n')).toEqual([])
  })

  it('a dead-letter exchange or routing key too long for basic.deliver is refused at declare (it used to kill the broker on expiry)', async () => {
    for (const args of [
      { 'x-message-ttl': 1, 'x-dead-letter-exchange': 'amq.fanout', 'x-dead-letter-routing-key': 'k'.repeat(300) },
      { 'x-message-ttl': 1, 'x-dead-letter-exchange': 'x'.repeat(300) },
    ]) {
      const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
      conn.on('error', () => {})
      const ch = await conn.createChannel()
      const closed = new Promise<{ code?: number }>((resolve) => ch.on('error', resolve))
      await expect(ch.assertQueue('', { exclusive: true, arguments: args })).rejects.toThrow(/PRECONDITION_FAILED/)
      expect((await closed).code).toBe(406)
      await conn.close()
    }
    expect(errors, errors.join('\n')).toEqual([])
  })

  it(`${CASES} mutated frame sequences: the right connection or channel error with a text, or the broker carries on`, async () => {
    const r = seeded('fuzz-amqp frames')
    const base = corpus()
    const tally = await runAll(`seed ${r.seed}`, CASES, async () => {
      const frames = mutateSequence(r.pick(base), r)
      const outcome = await runFrameCase(broker.port, frames)
      return { outcome, input: Buffer.concat(frames).toString('hex') }
    })
    console.log(`[fuzz-amqp] ${CASES} frame cases (seed ${r.seed}):`, Object.fromEntries([...tally].sort()))
    // the fuzzer reached the broker's error paths, and valid-enough input was still served
    expect(tally.get('carried-on') ?? 0).toBeGreaterThan(CASES / 20)
    expect([...tally.keys()].filter((k) => k.startsWith('connection-close')).length).toBeGreaterThanOrEqual(3)
  }, scale(120_000, 60 * 60_000))

  it(`${SASL_CASES} mutated handshakes (SASL mechanism and response, client properties, tune-ok, open)`, async () => {
    const r = seeded('fuzz-amqp sasl')
    const tally = await runAll(`seed ${r.seed}`, SASL_CASES, async () => {
      const outcome = await runSaslCase(broker.port, r)
      return { outcome, input: '(handshake case; replay with the seed)' }
    })
    console.log(`[fuzz-amqp] ${SASL_CASES} handshake cases (seed ${r.seed}):`, Object.fromEntries([...tally].sort()))
    expect(tally.get('connection-close 403') ?? 0).toBeGreaterThan(0)
    expect(tally.get('carried-on') ?? 0).toBeGreaterThanOrEqual(SASL_CASES / 20)
  }, scale(60_000, 30 * 60_000))
})
