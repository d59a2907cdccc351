import type { Socket } from 'node:net'
import {
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  FrameReader,
  HEARTBEAT_FRAME,
  PROTOCOL_HEADER,
  ProtocolError,
  decodeFieldTable,
  decodeMethod,
  methodFrame,
  plainFieldValue,
  type AmqpMethod,
  type FieldTable,
  type Frame,
  type MethodArgs,
  type MethodName,
} from '../protocol'
import type { BrokerCore } from '../core/broker'
import { AmqpError, ReplyCode, channelScopeViolation, commandInvalid, notAllowed, unexpectedFrame } from '../core/errors'
import type { Vhost } from '../core/vhost'
import { AmqpChannel } from './channel'
import { serverProperties } from './server-properties'

export interface ConnectionLimits {
  channelMax: number
  frameMax: number
  /** seconds; the value proposed in connection.tune */
  heartbeat: number
}

export interface Logger {
  info(message: string): void
  warn(message: string): void
  error(message: string): void
}

export interface ConnectionContext {
  core: BrokerCore
  limits: ConnectionLimits
  logger: Logger
  onClosed(connection: AmqpConnection): void
}

type State = 'awaiting-header' | 'awaiting-start-ok' | 'awaiting-tune-ok' | 'awaiting-open' | 'open' | 'closing' | 'closed'

/** Stop reading a client's socket while this much output waits for it (RabbitMQ's credit flow, in spirit). */
const OUTPUT_PAUSE_BYTES = 16 * 1024 * 1024
/** How long a closing connection waits for connection.close-ok before dropping the socket. */
const CLOSE_TIMEOUT_MS = 3_000

let nextConnectionNumber = 1

/** RabbitMQ's reply text for a content frame where a method frame was due. */
export const EXPECTED_METHOD_FRAME = 'expected method frame, got non method frame instead'

/**
 * One client connection: the handshake (AMQP 0-9-1 §2.2.4), heartbeats, frame dispatch to channels and
 * connection-level errors. It reads frames from the socket and writes replies; all state changes go through core.
 */
export class AmqpConnection {
  readonly id = nextConnectionNumber++
  readonly name: string
  readonly connectedAt = Date.now()
  private state: State = 'awaiting-header'
  private headerBuffer = Buffer.alloc(0)
  private readonly reader: FrameReader
  readonly channels = new Map<number, AmqpChannel>()
  channelMax: number
  frameMax: number
  heartbeat = 0
  user = ''
  vhost: Vhost | undefined
  clientProperties: FieldTable = {}
  /** the SASL mechanism the client logged in with (shown by the management API) */
  authMechanism = ''
  private lastReceived = Date.now()
  private lastSent = Date.now()
  private heartbeatTimer: NodeJS.Timeout | undefined
  private corked = false
  private publishing = false
  private blockedByMemory = false
  private readonly unsubscribeMemory: () => void
  /** channels with confirms, transient acks or anything else to send at the end of this read */
  readonly dirtyChannels = new Set<AmqpChannel>()

  constructor(
    readonly socket: Socket,
    readonly context: ConnectionContext,
  ) {
    this.name = `${socket.remoteAddress}:${socket.remotePort} -> ${socket.localAddress}:${socket.localPort}`
    this.channelMax = context.limits.channelMax
    this.frameMax = context.limits.frameMax
    this.reader = new FrameReader(FRAME_MIN_SIZE)
    socket.setNoDelay(true)
    socket.on('data', (chunk) => this.onData(chunk))
    socket.on('drain', () => this.onDrain())
    socket.on('error', () => this.terminate())
    socket.on('close', () => this.terminate())
    this.unsubscribeMemory = context.core.memory.onChange((alarmed) => this.onMemoryAlarm(alarmed))
  }

  get core(): BrokerCore {
    return this.context.core
  }

  get isOpen(): boolean {
    return this.state === 'open'
  }

  /** Whether consumers on this connection may be handed more messages now. */
  get writable(): boolean {
    return this.socket.writableLength < OUTPUT_PAUSE_BYTES && this.state === 'open'
  }

  /** Client capabilities from connection.start-ok client-properties. */
  clientCapability(name: string): boolean {
    const capabilities = this.clientProperties.capabilities
    if (!capabilities || typeof capabilities !== 'object' || Buffer.isBuffer(capabilities) || Array.isArray(capabilities)) return false
    return plainFieldValue((capabilities as FieldTable)[name] ?? false) === true
  }

  // --- input --------------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.lastReceived = Date.now()
    try {
      if (this.state === 'awaiting-header') {
        chunk = this.readProtocolHeader(chunk)
        if (chunk.length === 0) return
      }
      this.reader.push(chunk, (frame) => this.onFrame(frame))
    } catch (error) {
      this.onError(error)
    } finally {
      this.endOfInput()
    }
  }

  /** AMQP 0-9-1 §4.2.2: a wrong header is answered with the one we speak, then the socket is closed. */
  private readProtocolHeader(chunk: Buffer): Buffer {
    this.headerBuffer = Buffer.concat([this.headerBuffer, chunk])
    if (this.headerBuffer.length < PROTOCOL_HEADER.length) {
      if (!PROTOCOL_HEADER.subarray(0, this.headerBuffer.length).equals(this.headerBuffer)) this.rejectHeader()
      return Buffer.alloc(0)
    }
    if (!this.headerBuffer.subarray(0, PROTOCOL_HEADER.length).equals(PROTOCOL_HEADER)) {
      this.rejectHeader()
      return Buffer.alloc(0)
    }
    const rest = this.headerBuffer.subarray(PROTOCOL_HEADER.length)
    this.headerBuffer = Buffer.alloc(0)
    this.state = 'awaiting-start-ok'
    this.send(
      methodFrame(0, 'connection.start', {
        versionMajor: 0,
        versionMinor: 9,
        serverProperties: serverProperties(),
        mechanisms: 'PLAIN AMQPLAIN',
        locales: 'en_US',
      }),
    )
    return rest
  }

  private rejectHeader(): void {
    this.state = 'closed'
    this.socket.end(PROTOCOL_HEADER)
  }

  private onFrame(frame: Frame): void {
    if (this.state === 'closed') return
    if (frame.type === FRAME_HEARTBEAT) {
      if (frame.channel !== 0) throw new ProtocolError(ReplyCode.FRAME_ERROR, 'FRAME_ERROR - heartbeat frame on non-zero channel')
      return
    }
    if (frame.channel === 0) {
      if (frame.type !== FRAME_METHOD) throw new ProtocolError(ReplyCode.UNEXPECTED_FRAME, `UNEXPECTED_FRAME - frame type ${frame.type} on channel 0`)
      this.onConnectionMethod(decodeMethod(frame.payload))
      return
    }
    if (this.state === 'closing') return // everything but close/close-ok is discarded while closing (§2.2.4)
    if (this.state !== 'open') throw new ProtocolError(ReplyCode.CHANNEL_ERROR, `CHANNEL_ERROR - frame on channel ${frame.channel} before the connection is open`)
    let channel = this.channels.get(frame.channel)
    if (frame.type === FRAME_METHOD) {
      const method = decodeMethod(frame.payload)
      if (!channel) {
        if (method.name !== 'channel.open') throw channelScopeViolation(`expected 'channel.open'`).withMethod(method)
        if (frame.channel > this.channelMax) throw channelScopeViolation(`channel ${frame.channel} is above the negotiated channel_max ${this.channelMax}`).withMethod(method)
        channel = new AmqpChannel(frame.channel, this)
        this.channels.set(frame.channel, channel)
      }
      channel.onMethod(method)
    } else if (frame.type === FRAME_HEADER || frame.type === FRAME_BODY) {
      if (!channel) throw unexpectedFrame(EXPECTED_METHOD_FRAME)
      if (frame.type === FRAME_HEADER) channel.onContentHeader(frame.payload)
      else channel.onContentBody(frame.payload)
    } else {
      throw new ProtocolError(ReplyCode.FRAME_ERROR, `FRAME_ERROR - unknown frame type ${frame.type}`)
    }
  }

  private onConnectionMethod(method: AmqpMethod): void {
    switch (method.name) {
      case 'connection.start-ok':
        return this.expect(method, 'awaiting-start-ok', () => this.onStartOk(method.args))
      case 'connection.tune-ok':
        return this.expect(method, 'awaiting-tune-ok', () => this.onTuneOk(method.args))
      case 'connection.open':
        return this.expect(method, 'awaiting-open', () => this.onOpen(method.args.virtualHost, method))
      case 'connection.close':
        this.send(methodFrame(0, 'connection.close-ok', {}))
        this.flush()
        this.state = 'closed'
        this.socket.end()
        return
      case 'connection.close-ok':
        if (this.state === 'closing') {
          this.state = 'closed'
          this.socket.end()
        }
        return
      case 'connection.update-secret':
        // RabbitMQ extension (10/70): we have no expiring credentials, so a new secret is simply accepted
        if (this.state === 'open') this.send(methodFrame(0, 'connection.update-secret-ok', {}))
        return
      case 'connection.blocked':
      case 'connection.unblocked':
        return
      default:
        if (this.state === 'closing') return
        throw commandInvalid(`unexpected method '${method.name}' on channel 0`).withMethod(method)
    }
  }

  private expect(method: AmqpMethod, state: State, handle: () => void): void {
    if (this.state === 'closing') return
    if (this.state !== state) throw commandInvalid(`unexpected method '${method.name}' in connection state '${this.state}'`).withMethod(method)
    handle()
  }

  private onStartOk(args: MethodArgs['connection.start-ok']): void {
    this.clientProperties = args.clientProperties
    const credentials = parseCredentials(args.mechanism, args.response)
    if (!credentials) {
      // never the response itself in the log: it holds the password
      const known = args.mechanism === 'PLAIN' || args.mechanism === 'AMQPLAIN'
      return this.refuseLogin(args.mechanism, known ? 'malformed response' : `unsupported authentication mechanism '${printable(args.mechanism)}'`)
    }
    const user = this.core.authenticate(credentials.user, credentials.password)
    if (!user) return this.refuseLogin(args.mechanism, `user '${printable(credentials.user, 255)}' - invalid credentials`)
    // RabbitMQ's loopback_users default: guest may only connect from the machine itself
    if (credentials.user === 'guest' && !isLoopback(this.socket.remoteAddress)) {
      return this.refuseLogin(args.mechanism, `user '${credentials.user}' can only connect via localhost`)
    }
    this.user = user.name
    this.authMechanism = args.mechanism
    this.state = 'awaiting-tune-ok'
    const { channelMax, frameMax, heartbeat } = this.context.limits
    this.send(methodFrame(0, 'connection.tune', { channelMax, frameMax, heartbeat }))
  }

  /**
   * A refused login, as RabbitMQ's rabbit_reader:auth_fail: the log names the peer, the mechanism and the user, never
   * the password or the SASL response; a client with the authentication_failure_close capability (amqplib, pika,
   * rabbitmq-c...) gets connection.close 403 ACCESS_REFUSED with RabbitMQ's safe text, others only see the socket
   * close (AMQP 0-9-1 has no way to report it before the connection is open).
   */
  private refuseLogin(mechanism: string, why: string): void {
    // "Error on AMQP connection 127.0.0.1:50312 -> 127.0.0.1:5672 (state: starting): PLAIN login refused: user 'bob' - invalid credentials"
    this.context.logger.warn(`Error on AMQP connection ${this.name} (state: starting): ${printable(mechanism)} login refused: ${why}`)
    if (this.clientCapability('authentication_failure_close')) {
      this.closeWithError(ReplyCode.ACCESS_REFUSED, `ACCESS_REFUSED - Login was refused using authentication mechanism ${printable(mechanism)}. For details see the broker logfile.`, 0, 0)
      return
    }
    this.terminate()
    this.socket.end()
  }

  /** The client's values win where they are lower; zero means "no limit" (AMQP 0-9-1 §1.4.2.6). */
  private onTuneOk(args: MethodArgs['connection.tune-ok']): void {
    const limits = this.context.limits
    const lowest = (client: number, server: number) => (client === 0 ? server : server === 0 ? client : Math.min(client, server))
    this.channelMax = lowest(args.channelMax, limits.channelMax)
    this.frameMax = lowest(args.frameMax, limits.frameMax)
    if (this.frameMax < FRAME_MIN_SIZE) throw new AmqpError(ReplyCode.NOT_ALLOWED, `frame_max=${this.frameMax} < ${FRAME_MIN_SIZE} min size`, 'connection').withIds(10, 31)
    this.reader.setMaxFrameSize(this.frameMax)
    this.heartbeat = args.heartbeat
    this.state = 'awaiting-open'
    this.startHeartbeats()
  }

  private onOpen(vhostName: string, method: AmqpMethod): void {
    const vhost = this.core.vhosts.get(vhostName)
    if (!vhost) throw notAllowed(`vhost ${vhostName} not found`).withMethod(method)
    if (!this.core.permission(this.user, vhostName)) throw notAllowed(`access to vhost '${vhostName}' refused for user '${this.user}'`).withMethod(method)
    this.vhost = vhost
    this.state = 'open'
    this.send(methodFrame(0, 'connection.open-ok', {}))
    if (this.core.memory.alarm) this.onMemoryAlarm(true)
  }

  // --- heartbeats ---------------------------------------------------------------------------------------------

  /** Sends a heartbeat when idle for one interval; drops the client after two silent intervals (RabbitMQ). */
  private startHeartbeats(): void {
    if (this.heartbeat <= 0) return
    const intervalMs = this.heartbeat * 1000
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now()
      if (now - this.lastReceived > 2 * intervalMs) {
        this.context.logger.warn(`connection ${this.name}: missed heartbeats from client, timeout: ${this.heartbeat}s`)
        this.terminate()
        this.socket.destroy()
        return
      }
      if (now - this.lastSent >= intervalMs / 2) this.send(HEARTBEAT_FRAME)
    }, intervalMs / 2)
    this.heartbeatTimer.unref()
  }

  // --- output -------------------------------------------------------------------------------------------------

  /** Writes a frame; writes made while handling one read are corked and leave in one writev. */
  send(frame: Buffer): void {
    if (this.state === 'closed') return
    this.scheduleFlush()
    this.socket.write(frame)
    this.lastSent = Date.now()
  }

  /** Corks the socket until the end of this tick, when pending confirms are added and everything leaves at once. */
  scheduleFlush(): void {
    if (this.corked || this.state === 'closed') return
    this.corked = true
    this.socket.cork()
    process.nextTick(() => this.flush())
  }

  sendMethod<K extends MethodName>(channel: number, name: K, args: MethodArgs[K]): void {
    this.send(methodFrame(channel, name, args))
  }

  private flush(): void {
    for (const channel of this.dirtyChannels) channel.flushConfirms()
    this.dirtyChannels.clear()
    if (this.corked) {
      this.corked = false
      this.socket.uncork()
    }
  }

  private endOfInput(): void {
    for (const channel of this.dirtyChannels) channel.flushConfirms()
    this.dirtyChannels.clear()
    if (this.socket.writableLength > OUTPUT_PAUSE_BYTES) this.socket.pause()
  }

  private onDrain(): void {
    if (!this.blockedByMemory && this.state !== 'closed') this.socket.resume()
    for (const channel of this.channels.values()) channel.resumeConsumers()
  }

  /** Memory or disk alarm: publishing connections are blocked (connection.blocked where the client supports it). */
  private onMemoryAlarm(alarmed: boolean): void {
    if (this.state !== 'open' || !this.publishing) return
    this.blockedByMemory = alarmed
    if (this.clientCapability('connection.blocked')) {
      if (alarmed) this.sendMethod(0, 'connection.blocked', { reason: this.core.memory.reason })
      else this.sendMethod(0, 'connection.unblocked', {})
    }
    if (alarmed) this.socket.pause()
    else this.socket.resume()
  }

  /** Called by channels on their first publish. */
  markPublishing(): void {
    if (this.publishing) return
    this.publishing = true
    if (this.core.memory.alarm) this.onMemoryAlarm(true)
  }

  // --- errors and closing -------------------------------------------------------------------------------------

  private onError(error: unknown): void {
    if (error instanceof AmqpError && error.scope === 'connection') {
      this.closeWithError(error.replyCode, error.replyText, error.classId, error.methodId)
    } else if (error instanceof AmqpError) {
      // a channel error raised outside a channel handler is a bug; treat it as an internal error
      this.closeWithError(ReplyCode.INTERNAL_ERROR, `INTERNAL_ERROR - ${error.message}`, error.classId, error.methodId)
    } else if (error instanceof ProtocolError) {
      this.closeWithError(error.replyCode, error.message, error.classId, error.methodId)
    } else {
      this.context.logger.error(`connection ${this.name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
      this.closeWithError(ReplyCode.INTERNAL_ERROR, 'INTERNAL_ERROR - internal error', 0, 0)
    }
  }

  /** Sends connection.close and waits for close-ok; the client has CLOSE_TIMEOUT_MS to answer. */
  closeWithError(replyCode: number, replyText: string, classId: number, methodId: number): void {
    if (this.state === 'closing' || this.state === 'closed') return
    if (this.state === 'awaiting-header') {
      this.terminate()
      this.socket.destroy()
      return
    }
    this.state = 'closing'
    this.socket.resume()
    this.send(methodFrame(0, 'connection.close', { replyCode, replyText: replyText.slice(0, 255), classId, methodId }))
    this.flush()
    this.releaseResources()
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref()
  }

  /** Server shutdown or an operator's request: connection.close 320 CONNECTION_FORCED. */
  forceClose(reason = 'broker shutdown'): Promise<void> {
    return new Promise((resolve) => {
      if (this.state === 'closed') return resolve()
      this.socket.once('close', () => resolve())
      if (this.state === 'open') this.closeWithError(ReplyCode.CONNECTION_FORCED, `CONNECTION_FORCED - ${reason}`, 0, 0)
      else this.socket.destroy()
      setTimeout(() => {
        this.socket.destroy()
        resolve()
      }, 1_000).unref()
    })
  }

  private released = false

  private releaseResources(): void {
    if (this.released) return
    this.released = true
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer)
    this.unsubscribeMemory()
    for (const channel of this.channels.values()) channel.release()
    this.channels.clear()
    this.vhost?.releaseOwner(this)
  }

  private reportedClosed = false

  /**
   * The socket is gone (or going): resources are released and the server forgets the connection, exactly once.
   * Keyed on its own flag, not on the state: a connection.close handshake sets the state to 'closed' before the socket
   * closes, and the server's set of connections kept every politely closed connection (found by test/soak/load).
   */
  private terminate(): void {
    this.releaseResources()
    this.state = 'closed'
    if (!this.reportedClosed) {
      this.reportedClosed = true
      this.context.onClosed(this)
    }
  }

  /** Called by a channel when it is gone. */
  removeChannel(channel: AmqpChannel): void {
    if (this.channels.get(channel.id) === channel) this.channels.delete(channel.id)
  }
}

/** SASL PLAIN ("\0user\0password") and RabbitMQ's AMQPLAIN (a field table without its length prefix). */
export function parseCredentials(mechanism: string, response: Buffer): { user: string; password: string } | undefined {
  try {
    if (mechanism === 'PLAIN') {
      const parts = response.toString('utf8').split('\u0000')
      if (parts.length !== 3) return undefined
      return { user: parts[1], password: parts[2] }
    }
    if (mechanism === 'AMQPLAIN') {
      const withLength = Buffer.alloc(response.length + 4)
      withLength.writeUInt32BE(response.length, 0)
      response.copy(withLength, 4)
      const table = decodeFieldTable(withLength, 0).value
      const user = plainFieldValue(table.LOGIN ?? '')
      const password = plainFieldValue(table.PASSWORD ?? '')
      return { user: String(user), password: String(password) }
    }
  } catch {
    return undefined
  }
  return undefined
}

/** A client-chosen name as it goes into a log line or reply text: no control characters (no forged log lines), cut short. */
function printable(text: string, max = 64): string {
  return text.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, max)
}

/** RabbitMQ's loopback_users check: whether a peer address is this machine. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.')
}
