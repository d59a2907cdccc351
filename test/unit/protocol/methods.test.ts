import { describe, it, expect } from 'vitest'
import {
  ACCESS_REFUSED,
  CHANNEL_ERROR,
  COMMAND_INVALID,
  CONNECTION_FORCED,
  CONTENT_TOO_LARGE,
  FRAME_BODY,
  FRAME_END,
  FRAME_ERROR,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  INTERNAL_ERROR,
  INVALID_PATH,
  METHODS,
  NO_CONSUMERS,
  NO_ROUTE,
  NOT_ALLOWED,
  NOT_FOUND,
  NOT_IMPLEMENTED,
  PRECONDITION_FAILED,
  ProtocolError,
  REPLY_SUCCESS,
  RESOURCE_ERROR,
  RESOURCE_LOCKED,
  SYNTAX_ERROR,
  UNEXPECTED_FRAME,
  decodeMethod,
  encodeMethod,
  methodFrame,
  methodIds,
  methodNameOf,
  methodPayloadSize,
  type MethodName,
} from '../../../broker/protocol'
import { sampleArgs } from './helpers'

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

describe('spec constants', () => {
  it('frame constants and reply codes', () => {
    expect([FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT, FRAME_MIN_SIZE, FRAME_END]).toEqual([1, 2, 3, 8, 4096, 206])
    expect([
      REPLY_SUCCESS,
      CONTENT_TOO_LARGE,
      NO_ROUTE,
      NO_CONSUMERS,
      CONNECTION_FORCED,
      INVALID_PATH,
      ACCESS_REFUSED,
      NOT_FOUND,
      RESOURCE_LOCKED,
      PRECONDITION_FAILED,
      FRAME_ERROR,
      SYNTAX_ERROR,
      COMMAND_INVALID,
      CHANNEL_ERROR,
      UNEXPECTED_FRAME,
      RESOURCE_ERROR,
      NOT_ALLOWED,
      NOT_IMPLEMENTED,
      INTERNAL_ERROR,
    ]).toEqual([200, 311, 312, 313, 320, 402, 403, 404, 405, 406, 501, 502, 503, 504, 505, 506, 530, 540, 541])
  })

  it('has every method, RabbitMQ extensions included', () => {
    expect(METHODS.length).toBe(64)
    const names = METHODS.map((m) => m.name)
    for (const n of [
      'confirm.select',
      'confirm.select-ok',
      'exchange.bind',
      'exchange.bind-ok',
      'exchange.unbind',
      'exchange.unbind-ok',
      'basic.nack',
      'connection.blocked',
      'connection.unblocked',
      'connection.update-secret',
      'connection.update-secret-ok',
    ]) {
      expect(names).toContain(n)
    }
    expect(methodIds['exchange.unbind-ok']).toEqual({ classId: 40, methodId: 51 })
    expect(methodIds['connection.update-secret']).toEqual({ classId: 10, methodId: 70 })
    expect(methodNameOf(60, 40)).toBe('basic.publish')
    expect(methodNameOf(60, 41)).toBeUndefined()
  })
})

describe('every method round trips', () => {
  for (const m of METHODS) {
    it(m.name, () => {
      for (const variant of [0, 1, 2]) {
        const args = sampleArgs(m, variant)
        const payload = encodeMethod(m.name, args)
        expect(payload.length).toBe(methodPayloadSize(m.name, args))
        expect(payload.readUInt16BE(0)).toBe(m.classId)
        expect(payload.readUInt16BE(2)).toBe(m.methodId)
        const decoded = decodeMethod(payload)
        expect(decoded.name).toBe(m.name)
        expect(decoded.classId).toBe(m.classId)
        expect(decoded.methodId).toBe(m.methodId)
        expect(decoded.args).toEqual(args)
        // re-encoding what was decoded gives the same bytes
        expect(encodeMethod(decoded.name, decoded.args).equals(payload)).toBe(true)
        // the frame is the payload with the frame envelope
        const frame = methodFrame(7, m.name, args)
        expect(frame.subarray(0, 7).toString('hex')).toBe(
          Buffer.from([1, 0, 7, ...[24, 16, 8, 0].map((s) => (payload.length >>> s) & 0xff)]).toString('hex'),
        )
        expect(frame.subarray(7, -1).equals(payload)).toBe(true)
        expect(frame[frame.length - 1]).toBe(206)
        // every truncation is a ProtocolError
        for (let cut = 0; cut < payload.length; cut++) {
          const e = protocolError(() => decodeMethod(payload.subarray(0, cut)))
          expect([FRAME_ERROR, SYNTAX_ERROR]).toContain(e.replyCode)
        }
        // bytes after the arguments too
        const e = protocolError(() => decodeMethod(Buffer.concat([payload, Buffer.from([0])])))
        expect(e.replyCode).toBe(FRAME_ERROR)
        expect([e.classId, e.methodId]).toEqual([m.classId, m.methodId])
      }
    })
  }
})

describe('known byte vectors', () => {
  const vectors: [MethodName, object, string][] = [
    ['connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 60 }, '000a 001f 07ff 00020000 003c'],
    ['connection.open', { virtualHost: '/' }, '000a 0028 01 2f 00 00'],
    ['connection.close', { replyCode: 320, replyText: 'bye', classId: 0, methodId: 0 }, '000a 0032 0140 03 627965 0000 0000'],
    ['channel.open', {}, '0014 000a 00'],
    ['channel.open-ok', {}, '0014 000b 00000000'],
    ['basic.publish', { exchange: 'ex', routingKey: 'rk', mandatory: true, immediate: false }, '003c 0028 0000 02 6578 02 726b 01'],
    ['basic.publish', { exchange: '', routingKey: 'q', mandatory: false, immediate: true }, '003c 0028 0000 00 01 71 02'],
    ['basic.ack', { deliveryTag: 5, multiple: true }, '003c 0050 0000000000000005 01'],
    ['basic.ack', { deliveryTag: 2 ** 32 + 1, multiple: false }, '003c 0050 0000000100000001 00'],
    ['basic.nack', { deliveryTag: 1, multiple: false, requeue: true }, '003c 0078 0000000000000001 02'],
    [
      'queue.declare',
      { queue: 'q', passive: false, durable: true, exclusive: false, autoDelete: true, noWait: false, arguments: {} },
      '0032 000a 0000 01 71 0a 00000000',
    ],
    ['basic.qos', { prefetchSize: 0, prefetchCount: 10, global: true }, '003c 000a 00000000 000a 01'],
    ['confirm.select', { nowait: true }, '0055 000a 01'],
    [
      'basic.deliver',
      { consumerTag: 'c', deliveryTag: 1, redelivered: true, exchange: '', routingKey: 'q' },
      '003c 003c 01 63 0000000000000001 01 00 01 71',
    ],
    ['connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\0u\0p'), locale: 'en_US' }, '000a 000b 00000000 05 504c41494e 00000004 00750070 05 656e5f5553'],
    ['connection.blocked', { reason: 'low' }, '000a 003c 03 6c6f77'],
    ['connection.update-secret', { newSecret: Buffer.from([1]), reason: 'r' }, '000a 0046 00000001 01 01 72'],
  ]
  for (const [name, args, bytes] of vectors) {
    it(`${name} ${JSON.stringify(args)}`, () => {
      const wire = hex(bytes)
      expect(encodeMethod(name, args as never).toString('hex')).toBe(wire.toString('hex'))
      const m = decodeMethod(wire)
      expect(m.name).toBe(name)
      expect(m.args).toEqual(args)
    })
  }

  it('reserved fields are ignored on decode', () => {
    const m = decodeMethod(hex('000a 0028 01 2f 03 616263 01'))
    expect(m).toEqual({ name: 'connection.open', classId: 10, methodId: 40, args: { virtualHost: '/' } })
  })

  it('each bit of queue.declare lands on its own bit of one octet', () => {
    const bits = ['passive', 'durable', 'exclusive', 'autoDelete', 'noWait'] as const
    bits.forEach((bit, i) => {
      const args = { queue: '', passive: false, durable: false, exclusive: false, autoDelete: false, noWait: false, arguments: {}, [bit]: true }
      const payload = encodeMethod('queue.declare', args)
      expect(payload.toString('hex')).toBe(`0032000a000000${(1 << i).toString(16).padStart(2, '0')}00000000`)
      expect(decodeMethod(payload).args).toEqual(args)
    })
  })
})

describe('decode errors', () => {
  it('unknown class or method: 540', () => {
    for (const p of ['0063 0001', '003c 0029', '000a 0000 00']) {
      const e = protocolError(() => decodeMethod(hex(p)))
      expect(e.replyCode).toBe(NOT_IMPLEMENTED)
      expect(e.message).toMatch(/^NOT_IMPLEMENTED - unknown method/)
    }
  })

  it('payload shorter than the ids: 501', () => {
    for (const p of ['', '00', '003c00']) expect(protocolError(() => decodeMethod(hex(p))).replyCode).toBe(FRAME_ERROR)
  })

  it('truncated arguments name the method', () => {
    const e = protocolError(() => decodeMethod(hex('003c 0028 0000 05 6578')))
    expect(e.replyCode).toBe(FRAME_ERROR)
    expect(e.message).toBe('FRAME_ERROR - cannot decode basic.publish: truncated arguments')
    expect([e.classId, e.methodId]).toEqual([60, 40])
  })

  it('a malformed table in the arguments: 502 with the method ids', () => {
    const e = protocolError(() => decodeMethod(hex('0032 000a 0000 01 71 00 00000003 01 6b 5a')))
    expect(e.replyCode).toBe(SYNTAX_ERROR)
    expect(e.message).toMatch(/^SYNTAX_ERROR - unsupported field table type 'Z' \(in queue.declare\)$/)
    expect([e.classId, e.methodId]).toEqual([50, 10])
  })

  it('encoding a short string over 255 bytes throws', () => {
    expect(() => encodeMethod('queue.delete', { queue: 'é'.repeat(128), ifUnused: false, ifEmpty: false, noWait: false })).toThrow(RangeError)
  })
})
