/**
 * AMQP 0-9-1 framing: the incremental frame parser and the frame encoders, including single-allocation encoders
 * for the broker's hottest writes (basic.deliver / basic.get-ok / basic.return with their content).
 *
 * Frame: type octet, channel short, payload size long, payload, frame-end octet 0xCE. A frame's size for frame-max
 * purposes is payload + 8 (the spec's frame overhead).
 */
import { payloadSnippet, ProtocolError } from './errors'
import { writeLonglong } from './field-table'
import {
  CLASS_BASIC,
  FRAME_BODY,
  FRAME_END,
  FRAME_ERROR,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  UNEXPECTED_FRAME,
  methodPayloadSize,
  writeMethodPayload,
  type BasicDeliver,
  type BasicGetOk,
  type BasicReturn,
  type MethodArgs,
  type MethodName,
} from './generated/amqp-spec.generated'

/** 'AMQP' 0 0 9 1: what a 0-9-1 client sends first, and what the server answers a protocol it does not speak with. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])

/** Bytes a frame adds to its payload: type (1) + channel (2) + size (4) + frame-end (1). */
export const FRAME_OVERHEAD = 8

/** A complete heartbeat frame (channel 0, empty payload). Shared: do not modify. */
export const HEARTBEAT_FRAME: Buffer = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END])

/** Largest payload accepted when no frame-max is set (maxFrameSize 0): Node's Buffer limit is 2^32 - 1 or more. */
const UNLIMITED_PAYLOAD = 0xfffffff0

export interface Frame {
  type: number
  channel: number
  /** a subarray of the pushed chunk when the frame arrived in one chunk, else a buffer of its own */
  payload: Buffer
}

/**
 * Incremental frame parser: push socket chunks as they come (split anywhere, several frames per chunk); onFrame is
 * called synchronously for every complete frame, in order.
 *
 * Throws ProtocolError, after which the reader must not be used again:
 * - 501 FRAME_ERROR: frame larger than maxFrameSize (payload + 8; checked as soon as the header is in), wrong
 *   frame-end octet, unknown frame type, a heartbeat with a payload, a method frame shorter than 4 octets or a
 *   content header shorter than 12 (all "unknown_frame" in RabbitMQ);
 * - 505 UNEXPECTED_FRAME: heartbeat on a channel other than 0, content header or body on channel 0.
 * The checks come in RabbitMQ's order: size, frame end, then type.
 */
export class FrameReader {
  private maxFrameSize = 0
  private readonly head = Buffer.allocUnsafe(7)
  private headLen = 0
  private type = 0
  private channel = 0
  private size = 0
  /** payload + frame-end octet of a frame spanning chunks, being filled */
  private body: Buffer | null = null
  private bodyLen = 0

  /** maxFrameSize: the negotiated frame-max (frame size including the 8 octets of overhead); 0 = no limit. */
  constructor(maxFrameSize: number) {
    this.setMaxFrameSize(maxFrameSize)
  }

  setMaxFrameSize(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`invalid max frame size ${n}`)
    this.maxFrameSize = n
  }

  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    const len = chunk.length
    let pos = 0
    if (this.body !== null) {
      const body = this.body
      const n = Math.min(body.length - this.bodyLen, len)
      chunk.copy(body, this.bodyLen, 0, n)
      this.bodyLen += n
      if (this.bodyLen < body.length) return
      pos = n
      this.body = null
      this.emit(body, 0, onFrame)
    } else if (this.headLen > 0) {
      const n = Math.min(7 - this.headLen, len)
      chunk.copy(this.head, this.headLen, 0, n)
      this.headLen += n
      if (this.headLen < 7) return
      pos = n
      this.headLen = 0
      this.readHeader(this.head, 0)
      if (len - pos <= this.size) {
        this.startBody(chunk, pos)
        return
      }
      this.emit(chunk, pos, onFrame)
      pos += this.size + 1
    }
    for (;;) {
      const rest = len - pos
      if (rest < 7) {
        if (rest > 0) {
          chunk.copy(this.head, 0, pos, len)
          this.headLen = rest
        }
        return
      }
      this.readHeader(chunk, pos)
      pos += 7
      if (len - pos <= this.size) {
        this.startBody(chunk, pos)
        return
      }
      this.emit(chunk, pos, onFrame)
      pos += this.size + 1
    }
  }

  private readHeader(buf: Buffer, p: number): void {
    const type = buf[p]
    const size = buf.readUInt32BE(p + 3)
    const max = this.maxFrameSize
    if (max === 0 ? size > UNLIMITED_PAYLOAD : size + 8 > max) {
      throw new ProtocolError(
        FRAME_ERROR,
        `FRAME_ERROR - type ${type}, all octets = <<>>: {frame_too_large,${size},${max === 0 ? UNLIMITED_PAYLOAD : max - 8}}`,
      )
    }
    this.type = type
    this.channel = (buf[p + 1] << 8) | buf[p + 2]
    this.size = size
  }

  private startBody(chunk: Buffer, pos: number): void {
    const body = Buffer.allocUnsafe(this.size + 1)
    chunk.copy(body, 0, pos)
    this.body = body
    this.bodyLen = chunk.length - pos
  }

  /** buf[start, start + size) is the payload, buf[start + size] the frame-end octet. */
  private emit(buf: Buffer, start: number, onFrame: (frame: Frame) => void): void {
    const { type, channel, size } = this
    const end = start + size
    const payload = buf.subarray(start, end)
    if (buf[end] !== FRAME_END) {
      throw new ProtocolError(FRAME_ERROR, `FRAME_ERROR - type ${type}, ${payloadSnippet(payload)}: {invalid_frame_end_marker,${buf[end]}}`)
    }
    switch (type) {
      case FRAME_METHOD:
        if (size < 4) this.unknownFrame(payload)
        break
      case FRAME_HEADER:
        if (size < 12) this.unknownFrame(payload)
        if (channel === 0) this.unexpectedFrame(payload)
        break
      case FRAME_BODY:
        if (channel === 0) this.unexpectedFrame(payload)
        break
      case FRAME_HEARTBEAT:
        if (size !== 0) this.unknownFrame(payload)
        if (channel !== 0) this.unexpectedFrame(payload)
        break
      default:
        this.unknownFrame(payload)
    }
    onFrame({ type, channel, payload })
  }

  private unknownFrame(payload: Buffer): never {
    throw new ProtocolError(FRAME_ERROR, `FRAME_ERROR - type ${this.type}, ${payloadSnippet(payload)}: unknown_frame`)
  }

  private unexpectedFrame(payload: Buffer): never {
    throw new ProtocolError(
      UNEXPECTED_FRAME,
      `UNEXPECTED_FRAME - type ${this.type}, channel ${this.channel}, ${payloadSnippet(payload)}`,
    )
  }
}

// ---------------------------------------------------------------------------------------------------------------
// encoders

function frameHeader(buf: Buffer, o: number, type: number, channel: number, size: number): void {
  buf[o] = type
  buf.writeUInt16BE(channel, o + 1)
  buf.writeUInt32BE(size, o + 3)
}

/** Largest body payload per frame for this frame-max (0 = unlimited). */
function bodyChunk(frameMax: number, bodyLength: number): number {
  if (frameMax === 0) return Math.max(bodyLength, 1)
  if (!(frameMax > FRAME_OVERHEAD)) throw new RangeError(`frame max ${frameMax} leaves no room for a body`)
  return frameMax - FRAME_OVERHEAD
}

/** A complete method frame. */
export function methodFrame<K extends MethodName>(channel: number, name: K, args: MethodArgs[K]): Buffer {
  const size = methodPayloadSize(name, args)
  const buf = Buffer.allocUnsafe(size + FRAME_OVERHEAD)
  frameHeader(buf, 0, FRAME_METHOD, channel, size)
  writeMethodPayload(buf, 7, name, args)
  buf[size + 7] = FRAME_END
  return buf
}

function writeContentHeader(buf: Buffer, o: number, channel: number, classId: number, bodySize: number, props: Buffer): number {
  const size = 12 + props.length
  frameHeader(buf, o, FRAME_HEADER, channel, size)
  buf.writeUInt16BE(classId, o + 7)
  buf[o + 9] = 0 // weight
  buf[o + 10] = 0
  writeLonglong(buf, o + 11, bodySize)
  props.copy(buf, o + 19)
  buf[o + 7 + size] = FRAME_END
  return o + 8 + size
}

/** A complete content header frame; encodedProperties is flags + property list (encodeBasicProperties). */
export function contentHeaderFrame(channel: number, classId: number, bodySize: number, encodedProperties: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(20 + encodedProperties.length)
  writeContentHeader(buf, 0, channel, classId, bodySize, encodedProperties)
  return buf
}

function writeBodyFrames(buf: Buffer, o: number, channel: number, body: Buffer, chunk: number, frames?: Buffer[]): number {
  for (let from = 0; from < body.length; from += chunk) {
    const len = Math.min(chunk, body.length - from)
    frameHeader(buf, o, FRAME_BODY, channel, len)
    body.copy(buf, o + 7, from, from + len)
    buf[o + 7 + len] = FRAME_END
    if (frames) frames.push(buf.subarray(o, o + 8 + len))
    o += 8 + len
  }
  return o
}

/** Body frames of at most frameMax octets each (overhead included; 0 = unlimited), in one allocation. Empty body → []. */
export function bodyFrames(channel: number, body: Buffer, frameMax: number): Buffer[] {
  if (body.length === 0) return []
  const chunk = bodyChunk(frameMax, body.length)
  const n = Math.ceil(body.length / chunk)
  const buf = Buffer.allocUnsafe(body.length + FRAME_OVERHEAD * n)
  const frames: Buffer[] = []
  writeBodyFrames(buf, 0, channel, body, chunk, frames)
  return frames
}

/**
 * A content-carrying method with its content header and body frames, written into one buffer (one allocation).
 * Byte-identical to methodFrame + contentHeaderFrame + bodyFrames.
 */
export function contentMethodFrames<K extends MethodName>(
  channel: number,
  name: K,
  args: MethodArgs[K],
  classId: number,
  encodedProperties: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer {
  const msize = methodPayloadSize(name, args)
  const chunk = bodyChunk(frameMax, body.length)
  const n = Math.ceil(body.length / chunk)
  const buf = Buffer.allocUnsafe(msize + 8 + 20 + encodedProperties.length + body.length + FRAME_OVERHEAD * n)
  frameHeader(buf, 0, FRAME_METHOD, channel, msize)
  writeMethodPayload(buf, 7, name, args)
  buf[msize + 7] = FRAME_END
  const o = writeContentHeader(buf, msize + 8, channel, classId, body.length, encodedProperties)
  writeBodyFrames(buf, o, channel, body, chunk)
  return buf
}

/** basic.deliver + content header + body frames in one buffer. */
export function deliveryFrames(channel: number, deliver: BasicDeliver, encodedProperties: Buffer, body: Buffer, frameMax: number): Buffer {
  return contentMethodFrames(channel, 'basic.deliver', deliver, CLASS_BASIC, encodedProperties, body, frameMax)
}

/** basic.get-ok + content header + body frames in one buffer. */
export function getOkFrames(channel: number, getOk: BasicGetOk, encodedProperties: Buffer, body: Buffer, frameMax: number): Buffer {
  return contentMethodFrames(channel, 'basic.get-ok', getOk, CLASS_BASIC, encodedProperties, body, frameMax)
}

/** basic.return + content header + body frames in one buffer. */
export function returnFrames(channel: number, ret: BasicReturn, encodedProperties: Buffer, body: Buffer, frameMax: number): Buffer {
  return contentMethodFrames(channel, 'basic.return', ret, CLASS_BASIC, encodedProperties, body, frameMax)
}

export interface ContentHeader {
  classId: number
  weight: number
  /** exact up to 2^53 */
  bodySize: number
  /** property flags + property list, a subarray of the payload (forward it as is, or decodeBasicProperties) */
  properties: Buffer
}

/** Decodes a content header frame payload. Shorter than 12 octets → ProtocolError 501. */
export function decodeContentHeader(payload: Buffer): ContentHeader {
  if (payload.length < 12) {
    throw new ProtocolError(FRAME_ERROR, `FRAME_ERROR - content header of ${payload.length} octets is truncated: ${payloadSnippet(payload)}`)
  }
  return {
    classId: (payload[0] << 8) | payload[1],
    weight: (payload[2] << 8) | payload[3],
    bodySize: payload.readUInt32BE(4) * 4294967296 + payload.readUInt32BE(8),
    properties: payload.subarray(12),
  }
}
