// A minimal raw AMQP 0-9-1 client over net.Socket, for protocol-level tests that amqplib
// cannot express (bad frames, tune values, heartbeats, channel-id misuse).
import net from 'node:net'

export const PROTOCOL_HEADER = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])
export const FRAME_METHOD = 1
export const FRAME_HEADER = 2
export const FRAME_BODY = 3
export const FRAME_HEARTBEAT = 8
export const FRAME_END = 0xce

export interface Frame {
  type: number
  channel: number
  payload: Buffer
  /** for method frames */
  classId?: number
  methodId?: number
}

export interface CloseFrame {
  channel: number
  /** 10 = connection.close, 20 = channel.close */
  closeClass: number
  replyCode: number
  replyText: string
  classId: number
  methodId: number
}

// ---- encoding -------------------------------------------------------------

export class Enc {
  private parts: Buffer[] = []
  private bits: number[] = []
  private flushBits() {
    if (this.bits.length === 0) return
    let b = 0
    this.bits.forEach((v, i) => (b |= v << i))
    this.parts.push(Buffer.from([b]))
    this.bits = []
  }
  u8(v: number) {
    this.flushBits()
    this.parts.push(Buffer.from([v]))
    return this
  }
  u16(v: number) {
    this.flushBits()
    const b = Buffer.alloc(2)
    b.writeUInt16BE(v)
    this.parts.push(b)
    return this
  }
  u32(v: number) {
    this.flushBits()
    const b = Buffer.alloc(4)
    b.writeUInt32BE(v)
    this.parts.push(b)
    return this
  }
  u64(v: bigint | number) {
    this.flushBits()
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(BigInt(v))
    this.parts.push(b)
    return this
  }
  bit(v: boolean) {
    this.bits.push(v ? 1 : 0)
    return this
  }
  shortstr(s: string) {
    this.flushBits()
    const b = Buffer.from(s)
    this.parts.push(Buffer.from([b.length]), b)
    return this
  }
  longstr(s: string | Buffer) {
    this.flushBits()
    const b = typeof s === 'string' ? Buffer.from(s) : s
    this.u32(b.length)
    this.parts.push(b)
    return this
  }
  /** Table with string ('S'), boolean ('t'), int ('I') and nested table ('F') values. */
  table(t: Record<string, unknown>) {
    this.flushBits()
    this.parts.push(encodeTable(t))
    return this
  }
  raw(b: Buffer) {
    this.flushBits()
    this.parts.push(b)
    return this
  }
  build(): Buffer {
    this.flushBits()
    return Buffer.concat(this.parts)
  }
}

export function encodeTable(t: Record<string, unknown>): Buffer {
  const e = new Enc()
  for (const [k, v] of Object.entries(t)) {
    e.shortstr(k)
    if (typeof v === 'string') e.raw(Buffer.from('S')).longstr(v)
    else if (typeof v === 'boolean') e.raw(Buffer.from('t')).u8(v ? 1 : 0)
    else if (typeof v === 'number') e.raw(Buffer.from('I')).u32(v >>> 0)
    else if (v && typeof v === 'object') e.raw(Buffer.from('F')).raw(encodeTable(v as Record<string, unknown>))
    else throw new Error(`encodeTable: unsupported value for ${k}`)
  }
  const body = e.build()
  const len = Buffer.alloc(4)
  len.writeUInt32BE(body.length)
  return Buffer.concat([len, body])
}

export function frame(type: number, channel: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(7)
  h.writeUInt8(type, 0)
  h.writeUInt16BE(channel, 1)
  h.writeUInt32BE(payload.length, 3)
  return Buffer.concat([h, payload, Buffer.from([FRAME_END])])
}

export function methodFrame(channel: number, classId: number, methodId: number, args: Buffer = Buffer.alloc(0)): Buffer {
  const p = Buffer.alloc(4)
  p.writeUInt16BE(classId, 0)
  p.writeUInt16BE(methodId, 2)
  return frame(FRAME_METHOD, channel, Buffer.concat([p, args]))
}

/** Content header frame with empty property flags. */
export function headerFrame(channel: number, classId: number, bodySize: number): Buffer {
  return frame(FRAME_HEADER, channel, new Enc().u16(classId).u16(0).u64(bodySize).u16(0).build())
}

export function bodyFrame(channel: number, body: Buffer | string): Buffer {
  return frame(FRAME_BODY, channel, typeof body === 'string' ? Buffer.from(body) : body)
}

export const HEARTBEAT_FRAME = frame(FRAME_HEARTBEAT, 0, Buffer.alloc(0))

// ---- decoding -------------------------------------------------------------

export function readShortstr(b: Buffer, off: number): [string, number] {
  const len = b.readUInt8(off)
  return [b.subarray(off + 1, off + 1 + len).toString(), off + 1 + len]
}

export function readLongstr(b: Buffer, off: number): [Buffer, number] {
  const len = b.readUInt32BE(off)
  return [b.subarray(off + 4, off + 4 + len), off + 4 + len]
}

export function decodeClose(f: Frame): CloseFrame | undefined {
  if (f.type !== FRAME_METHOD) return undefined
  if (!((f.classId === 10 || f.classId === 20) && f.methodId === (f.classId === 10 ? 50 : 40))) return undefined
  const p = f.payload
  let off = 4
  const replyCode = p.readUInt16BE(off)
  off += 2
  const [replyText, o2] = readShortstr(p, off)
  off = o2
  const classId = p.readUInt16BE(off)
  const methodId = p.readUInt16BE(off + 2)
  return { channel: f.channel, closeClass: f.classId!, replyCode, replyText, classId, methodId }
}

// ---- client -----------------------------------------------------------------

export interface HandshakeOptions {
  user?: string
  pass?: string
  vhost?: string
  mechanism?: 'PLAIN' | 'AMQPLAIN'
  /** heartbeat to send in tune-ok; default: the server's proposal */
  heartbeat?: number
  frameMax?: number
  channelMax?: number
}

export interface Tune {
  channelMax: number
  frameMax: number
  heartbeat: number
}

export class RawClient {
  readonly socket: net.Socket
  private buf = Buffer.alloc(0)
  private queue: Frame[] = []
  private waiters: Array<() => void> = []
  /** Raw bytes received before framing started (e.g. a protocol header sent back). */
  rawBytes = Buffer.alloc(0)
  framing = true
  ended = false
  heartbeatsReceived = 0
  heartbeatTimes: number[] = []
  endedAt?: number
  tune?: Tune

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.on('data', (d) => this.onData(d))
    socket.on('error', () => {})
    socket.on('close', () => {
      this.ended = true
      this.endedAt = Date.now()
      this.wake()
    })
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect({ port, host }, () => resolve(new RawClient(s)))
      s.once('error', reject)
    })
  }

  static async fromUrl(url: string): Promise<RawClient> {
    const u = new URL(url)
    return RawClient.connect(Number(u.port || 5672), u.hostname)
  }

  private wake() {
    for (const w of this.waiters.splice(0)) w()
  }

  private onData(d: Buffer) {
    this.rawBytes = Buffer.concat([this.rawBytes, d])
    if (!this.framing) {
      this.wake()
      return
    }
    this.buf = Buffer.concat([this.buf, d])
    while (this.buf.length >= 8) {
      // A protocol header sent back by the server (wrong version): not a frame.
      if (this.buf.subarray(0, 4).toString() === 'AMQP') {
        this.framing = false
        this.wake()
        return
      }
      const size = this.buf.readUInt32BE(3)
      if (this.buf.length < size + 8) break
      const f: Frame = {
        type: this.buf.readUInt8(0),
        channel: this.buf.readUInt16BE(1),
        payload: Buffer.from(this.buf.subarray(7, 7 + size)),
      }
      if (f.type === FRAME_METHOD && size >= 4) {
        f.classId = f.payload.readUInt16BE(0)
        f.methodId = f.payload.readUInt16BE(2)
      }
      this.buf = this.buf.subarray(size + 8)
      if (f.type === FRAME_HEARTBEAT) {
        this.heartbeatsReceived++
        this.heartbeatTimes.push(Date.now())
      } else {
        this.queue.push(f)
      }
    }
    this.wake()
  }

  write(b: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(b)
  }

  /** Next non-heartbeat frame, or undefined when the socket closed first. */
  async nextFrame(timeoutMs = 5000): Promise<Frame | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const f = this.queue.shift()
      if (f) return f
      if (this.ended) return undefined
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`RawClient: no frame within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Wait for a specific method; throws if another method or a close arrives first. */
  async expectMethod(classId: number, methodId: number, timeoutMs = 5000): Promise<Frame> {
    const f = await this.nextFrame(timeoutMs)
    if (!f) throw new Error(`RawClient: socket closed while waiting for ${classId}.${methodId}`)
    if (f.type !== FRAME_METHOD || f.classId !== classId || f.methodId !== methodId) {
      const c = decodeClose(f)
      throw new Error(
        `RawClient: expected ${classId}.${methodId}, got type ${f.type} ${f.classId}.${f.methodId}` +
          (c ? ` (close ${c.replyCode} ${c.replyText} for ${c.classId}.${c.methodId})` : ''),
      )
    }
    return f
  }

  /** Wait for a connection.close or channel.close (skipping other frames). */
  async expectClose(timeoutMs = 5000): Promise<CloseFrame> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const f = await this.nextFrame(Math.max(1, deadline - Date.now()))
      if (!f) throw new Error('RawClient: socket closed without a close method')
      const c = decodeClose(f)
      if (c) return c
    }
  }

  /** Resolves when the server closes the TCP connection. */
  async waitEnd(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.ended) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`RawClient: socket still open after ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Waits until at least `n` raw bytes arrived or the socket ended. */
  async waitRawBytes(n: number, timeoutMs = 5000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs
    while (this.rawBytes.length < n && !this.ended) {
      const left = deadline - Date.now()
      if (left <= 0) break
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
    return this.rawBytes
  }

  /** Full handshake up to connection.open-ok. Returns the server's tune proposal. */
  async handshake(o: HandshakeOptions = {}): Promise<Tune> {
    this.write(PROTOCOL_HEADER)
    await this.expectMethod(10, 10)
    const user = o.user ?? 'guest'
    const pass = o.pass ?? 'guest'
    const mech = o.mechanism ?? 'PLAIN'
    const response =
      mech === 'PLAIN'
        ? Buffer.from(`\0${user}\0${pass}`)
        : encodeTable({ LOGIN: user, PASSWORD: pass }).subarray(4)
    this.write(
      methodFrame(
        0,
        10,
        11,
        new Enc()
          .table({ product: 'warren-raw-test', capabilities: { 'connection.blocked': true, consumer_cancel_notify: true, authentication_failure_close: true } })
          .shortstr(mech)
          .longstr(response)
          .shortstr('en_US')
          .build(),
      ),
    )
    const tf = await this.expectMethod(10, 30)
    const tune: Tune = {
      channelMax: tf.payload.readUInt16BE(4),
      frameMax: tf.payload.readUInt32BE(6),
      heartbeat: tf.payload.readUInt16BE(10),
    }
    this.tune = tune
    this.write(
      methodFrame(
        0,
        10,
        31,
        new Enc()
          .u16(o.channelMax ?? tune.channelMax)
          .u32(o.frameMax ?? tune.frameMax)
          .u16(o.heartbeat ?? tune.heartbeat)
          .build(),
      ),
    )
    this.write(methodFrame(0, 10, 40, new Enc().shortstr(o.vhost ?? '/').shortstr('').bit(false).build()))
    await this.expectMethod(10, 41)
    return tune
  }

  async openChannel(ch: number): Promise<void> {
    this.write(methodFrame(ch, 20, 10, new Enc().shortstr('').build()))
    await this.expectMethod(20, 11)
  }

  sendChannelOpen(ch: number): void {
    this.write(methodFrame(ch, 20, 10, new Enc().shortstr('').build()))
  }

  /** queue.declare (nowait=false) */
  sendQueueDeclare(ch: number, queue: string, o: { passive?: boolean; durable?: boolean; exclusive?: boolean; autoDelete?: boolean } = {}): void {
    this.write(
      methodFrame(
        ch,
        50,
        10,
        new Enc()
          .u16(0)
          .shortstr(queue)
          .bit(!!o.passive)
          .bit(!!o.durable)
          .bit(!!o.exclusive)
          .bit(!!o.autoDelete)
          .bit(false)
          .table({})
          .build(),
      ),
    )
  }

  sendPublish(ch: number, exchange: string, routingKey: string, body: string | Buffer, o: { mandatory?: boolean; immediate?: boolean } = {}): void {
    const b = typeof body === 'string' ? Buffer.from(body) : body
    this.write(
      Buffer.concat([
        methodFrame(ch, 60, 40, new Enc().u16(0).shortstr(exchange).shortstr(routingKey).bit(!!o.mandatory).bit(!!o.immediate).build()),
        headerFrame(ch, 60, b.length),
        ...(b.length ? [bodyFrame(ch, b)] : []),
      ]),
    )
  }

  sendConnectionCloseOk(): void {
    this.write(methodFrame(0, 10, 51))
  }

  /** Polite client-initiated close. */
  async close(): Promise<void> {
    if (this.ended) return
    try {
      this.write(methodFrame(0, 10, 50, new Enc().u16(200).shortstr('bye').u16(0).u16(0).build()))
      // RabbitMQ answers close-ok and leaves closing the TCP socket to the client.
      const deadline = Date.now() + 2000
      for (;;) {
        const f = await this.nextFrame(Math.max(1, deadline - Date.now())).catch(() => undefined)
        if (!f || (f.classId === 10 && f.methodId === 51)) break
      }
    } finally {
      this.destroy()
    }
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** Parse a field table (for server-properties etc.). Supports the common field types. */
export function decodeTable(b: Buffer, off: number): [Record<string, unknown>, number] {
  const len = b.readUInt32BE(off)
  let p = off + 4
  const end = p + len
  const out: Record<string, unknown> = {}
  while (p < end) {
    const [k, p2] = readShortstr(b, p)
    p = p2
    const t = String.fromCharCode(b[p]!)
    p++
    switch (t) {
      case 'S': {
        const [v, p3] = readLongstr(b, p)
        out[k] = v.toString()
        p = p3
        break
      }
      case 't':
        out[k] = b[p] !== 0
        p++
        break
      case 'I':
        out[k] = b.readInt32BE(p)
        p += 4
        break
      case 'l':
        out[k] = b.readBigInt64BE(p)
        p += 8
        break
      case 'F': {
        const [v, p3] = decodeTable(b, p)
        out[k] = v
        p = p3
        break
      }
      default:
        throw new Error(`decodeTable: unsupported type ${t}`)
    }
  }
  return [out, end]
}
