import { describe, it, expect } from 'vitest'
import {
  BASIC_PROPERTIES,
  FRAME_ERROR,
  FrameReader,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  ProtocolError,
  UNEXPECTED_FRAME,
  bodyFrames,
  contentHeaderFrame,
  decodeBasicProperties,
  decodeContentHeader,
  decodeMethod,
  deliveryFrames,
  encodeBasicProperties,
  getOkFrames,
  methodFrame,
  returnFrames,
  type BasicProperties,
  type Frame,
} from '../../../broker/protocol'
import { allProperties } from './helpers'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

function protocolError(fn: () => unknown): ProtocolError {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError)
    return e as ProtocolError
  }
  throw new Error('expected a ProtocolError')
}

function readAll(reader: FrameReader, chunks: Buffer[]): Frame[] {
  const frames: Frame[] = []
  for (const c of chunks) reader.push(c, (f) => frames.push({ ...f, payload: Buffer.from(f.payload) }))
  return frames
}

const sampleStream = (): Buffer =>
  Buffer.concat([
    methodFrame(0, 'connection.tune-ok', { channelMax: 10, frameMax: 4096, heartbeat: 0 }),
    HEARTBEAT_FRAME,
    methodFrame(1, 'basic.publish', { exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: false }),
    contentHeaderFrame(1, 60, 5, encodeBasicProperties({ deliveryMode: 2 })),
    ...bodyFrames(1, Buffer.from('hello'), 4096),
    methodFrame(2, 'basic.ack', { deliveryTag: 9, multiple: false }),
  ])

describe('basic properties', () => {
  it('deliveryMode=2 alone', () => {
    expect(encodeBasicProperties({ deliveryMode: 2 }).toString('hex')).toBe('100002')
    expect(decodeBasicProperties(hex('100002'))).toEqual({ deliveryMode: 2 })
  })

  it('no properties', () => {
    expect(encodeBasicProperties({}).toString('hex')).toBe('0000')
    expect(decodeBasicProperties(hex('0000'))).toEqual({})
  })

  it('every property alone round trips, with its flag bit', () => {
    expect(BASIC_PROPERTIES.map((p) => p.name)).toEqual([
      'contentType',
      'contentEncoding',
      'headers',
      'deliveryMode',
      'priority',
      'correlationId',
      'replyTo',
      'expiration',
      'messageId',
      'timestamp',
      'type',
      'userId',
      'appId',
      'clusterId',
    ])
    const all = allProperties()
    BASIC_PROPERTIES.forEach((f, i) => {
      const p = { [f.name]: all[f.name as keyof BasicProperties] } as BasicProperties
      const wire = encodeBasicProperties(p)
      expect(wire.readUInt16BE(0)).toBe(1 << (15 - i))
      expect(decodeBasicProperties(wire)).toEqual(p)
    })
  })

  it('all 14 together round trip', () => {
    for (const variant of [0, 1]) {
      const p = allProperties(variant)
      const wire = encodeBasicProperties(p)
      expect(wire.readUInt16BE(0)).toBe(0xfffc)
      const back = decodeBasicProperties(wire)
      expect(back).toEqual(p)
      expect(encodeBasicProperties(back).equals(wire)).toBe(true)
      for (let cut = 0; cut < wire.length; cut++) protocolError(() => decodeBasicProperties(wire.subarray(0, cut)))
    }
  })

  it('continuation flag words', () => {
    // deliveryMode + continuation bit, then an empty continuation word
    expect(decodeBasicProperties(hex('1001 0000 02'))).toEqual({ deliveryMode: 2 })
    expect(decodeBasicProperties(hex('1001 0001 0000 02'))).toEqual({ deliveryMode: 2 })
    // a property in a continuation word is unknown to basic
    expect(protocolError(() => decodeBasicProperties(hex('1001 8000 02'))).replyCode).toBe(FRAME_ERROR)
    // the 15th flag bit is unknown
    expect(protocolError(() => decodeBasicProperties(hex('0002'))).replyCode).toBe(FRAME_ERROR)
    // leftover bytes
    expect(protocolError(() => decodeBasicProperties(hex('1000 02 00'))).replyCode).toBe(FRAME_ERROR)
  })

  it('headers and timestamp values', () => {
    const p: BasicProperties = { headers: { a: 1, b: 'x' }, timestamp: 1700000000 }
    const wire = encodeBasicProperties(p)
    expect(wire.toString('hex')).toBe('2040' + '0000000f' + '0161' + '4900000001' + '0162' + '530000000178' + '000000006553f100')
    expect(decodeBasicProperties(wire)).toEqual(p)
  })
})

describe('frame encoders', () => {
  it('protocol header and heartbeat', () => {
    expect(PROTOCOL_HEADER.toString('hex')).toBe('414d515000000901')
    expect(HEARTBEAT_FRAME.toString('hex')).toBe('08000000000000ce')
  })

  it('connection.tune-ok frame by hand', () => {
    expect(methodFrame(0, 'connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 60 }).toString('hex')).toBe(
      '01 0000 0000000c 000a001f 07ff 00020000 003c ce'.replace(/ /g, ''),
    )
  })

  it('content header frame', () => {
    const f = contentHeaderFrame(3, 60, 2 ** 32 + 5, hex('100002'))
    expect(f.toString('hex')).toBe('02 0003 0000000f 003c 0000 0000000100000005 100002 ce'.replace(/ /g, ''))
    const h = decodeContentHeader(f.subarray(7, -1))
    expect(h.classId).toBe(60)
    expect(h.weight).toBe(0)
    expect(h.bodySize).toBe(2 ** 32 + 5)
    expect(h.properties.toString('hex')).toBe('100002')
    for (let cut = 0; cut < 12; cut++) protocolError(() => decodeContentHeader(f.subarray(7, 7 + cut)))
  })

  it('body frames split at frameMax including the 8 octets of overhead', () => {
    const body = Buffer.from(Array.from({ length: 250 }, (_, i) => i))
    expect(bodyFrames(1, Buffer.alloc(0), 100)).toEqual([])
    const frames = bodyFrames(1, body, 100)
    expect(frames.map((f) => f.length)).toEqual([100, 100, 74])
    expect(Buffer.concat(frames.map((f) => f.subarray(7, -1))).equals(body)).toBe(true)
    for (const f of frames) {
      expect(f[0]).toBe(3)
      expect(f.readUInt16BE(1)).toBe(1)
      expect(f.readUInt32BE(3)).toBe(f.length - 8)
      expect(f[f.length - 1]).toBe(0xce)
    }
    expect(bodyFrames(1, body, 258).length).toBe(1)
    expect(bodyFrames(1, body, 257).length).toBe(2)
    expect(bodyFrames(1, body, 0).length).toBe(1)
  })

  it('deliveryFrames / getOkFrames / returnFrames are byte-identical to the general encoders', () => {
    const props = encodeBasicProperties(allProperties())
    for (const size of [0, 1, 91, 92, 93, 1000]) {
      const body = Buffer.alloc(size, 0x61)
      for (const frameMax of [100, 4096, 0]) {
        const deliver = { consumerTag: 'ctag', deliveryTag: 42, redelivered: true, exchange: 'ex', routingKey: 'rk' }
        const getOk = { deliveryTag: 7, redelivered: false, exchange: 'ex', routingKey: 'rk', messageCount: 3 }
        const ret = { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'ex', routingKey: 'rk' }
        const tail = [contentHeaderFrame(5, 60, size, props), ...bodyFrames(5, body, frameMax)]
        expect(deliveryFrames(5, deliver, props, body, frameMax).equals(Buffer.concat([methodFrame(5, 'basic.deliver', deliver), ...tail]))).toBe(true)
        expect(getOkFrames(5, getOk, props, body, frameMax).equals(Buffer.concat([methodFrame(5, 'basic.get-ok', getOk), ...tail]))).toBe(true)
        expect(returnFrames(5, ret, props, body, frameMax).equals(Buffer.concat([methodFrame(5, 'basic.return', ret), ...tail]))).toBe(true)
      }
    }
  })
})

describe('FrameReader', () => {
  const stream = sampleStream()
  const expected = readAll(new FrameReader(4096), [stream])

  it('reads many frames from one chunk, payloads as subarrays', () => {
    expect(expected.map((f) => [f.type, f.channel])).toEqual([
      [1, 0],
      [8, 0],
      [1, 1],
      [2, 1],
      [3, 1],
      [1, 2],
    ])
    expect(decodeMethod(expected[2].payload).args).toEqual({ exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: false })
    expect(decodeBasicProperties(decodeContentHeader(expected[3].payload).properties)).toEqual({ deliveryMode: 2 })
    expect(expected[4].payload.toString()).toBe('hello')
    const payloads: Buffer[] = []
    new FrameReader(4096).push(stream, (f) => payloads.push(f.payload))
    for (const p of payloads) expect(p.buffer).toBe(stream.buffer)
  })

  it('frames split at every byte boundary', () => {
    for (let i = 0; i <= stream.length; i++) {
      expect(readAll(new FrameReader(4096), [stream.subarray(0, i), stream.subarray(i)])).toEqual(expected)
    }
    for (let i = 1; i < stream.length; i += 7) {
      for (let j = i; j <= stream.length; j += 5) {
        const got = readAll(new FrameReader(4096), [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)])
        expect(got).toEqual(expected)
      }
    }
  })

  it('one byte at a time', () => {
    const chunks = Array.from(stream, (b) => Buffer.from([b]))
    expect(readAll(new FrameReader(4096), chunks)).toEqual(expected)
  })

  it('a frame exactly at the limit passes, one octet more is a 501', () => {
    const body = Buffer.alloc(4088)
    const ok = bodyFrames(1, body, 4096)
    expect(ok.length).toBe(1)
    expect(readAll(new FrameReader(4096), ok).length).toBe(1)
    const big = bodyFrames(1, Buffer.alloc(4089), 0)[0]
    const e = protocolError(() => readAll(new FrameReader(4096), [big.subarray(0, 7)]))
    expect(e.replyCode).toBe(FRAME_ERROR)
    expect(e.message).toBe('FRAME_ERROR - type 3, all octets = <<>>: {frame_too_large,4089,4088}')
    const r = new FrameReader(4096)
    r.setMaxFrameSize(8192)
    expect(readAll(r, [big]).length).toBe(1)
  })

  it('a bad frame end is a 501', () => {
    const f = Buffer.from(HEARTBEAT_FRAME)
    f[7] = 0x36
    const e = protocolError(() => readAll(new FrameReader(4096), [f]))
    expect(e.replyCode).toBe(FRAME_ERROR)
    expect(e.message).toBe('FRAME_ERROR - type 8, all octets = <<>>: {invalid_frame_end_marker,54}')
    const m = methodFrame(0, 'connection.close-ok', {})
    m[m.length - 1] = 0
    // split right before the end octet
    expect(protocolError(() => readAll(new FrameReader(4096), [m.subarray(0, -1), m.subarray(-1)])).replyCode).toBe(FRAME_ERROR)
  })

  it('unknown frame types are 501 unknown_frame, misplaced frames 505, as RabbitMQ does', () => {
    const cases: [string, number, RegExp][] = [
      ['04 0000 00000000 ce', FRAME_ERROR, /^FRAME_ERROR - type 4, all octets = <<>>: unknown_frame$/],
      ['09 0001 00000002 0102 ce', FRAME_ERROR, /^FRAME_ERROR - type 9, all octets = <<1,2>>: unknown_frame$/],
      ['08 0000 00000001 00 ce', FRAME_ERROR, /unknown_frame/], // heartbeat with a payload
      ['01 0000 00000003 000a00 ce', FRAME_ERROR, /unknown_frame/], // method frame without a method id
      ['02 0001 00000002 003c ce', FRAME_ERROR, /unknown_frame/], // truncated content header
      ['08 0001 00000000 ce', UNEXPECTED_FRAME, /^UNEXPECTED_FRAME - type 8, channel 1/],
      ['02 0000 0000000e 003c 0000 0000000000000000 0000 ce', UNEXPECTED_FRAME, /^UNEXPECTED_FRAME - type 2, channel 0/],
      ['03 0000 00000001 61 ce', UNEXPECTED_FRAME, /^UNEXPECTED_FRAME - type 3, channel 0/],
    ]
    for (const [bytes, code, msg] of cases) {
      const e = protocolError(() => readAll(new FrameReader(4096), [hex(bytes)]))
      expect(e.replyCode).toBe(code)
      expect(e.message).toMatch(msg)
    }
  })

  it('a frame spanning chunks has its own payload buffer', () => {
    const f = bodyFrames(1, Buffer.from('abcdef'), 4096)[0]
    const got: Frame[] = []
    const r = new FrameReader(4096)
    r.push(f.subarray(0, 9), (x) => got.push(x))
    r.push(f.subarray(9), (x) => got.push(x))
    expect(got[0].payload.toString()).toBe('abcdef')
  })
})
