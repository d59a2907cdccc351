/**
 * One member of an active/standby pair ("warren" mode): two brokers started on the same data directory (shared
 * storage). The storage lock (lock.ts) decides which one is active: the member holding it runs the broker
 * (startBroker with the data directory: the normal startup recovery), the other waits as standby, without AMQP
 * listeners, and tries the lock again every pollMs. When the active dies (kill -9 included) the kernel releases its
 * lock, the standby takes it and starts the broker on the ports it was given.
 *
 * Visibility (members.ts): each member rewrites its descriptor in <data>/pair/members/ every heartbeat; the member
 * that takes the lock appends the takeover to <data>/pair/takeovers.jsonl. GET /api/ha shows both (status.ts); on
 * the standby it is served by StandbyHttp, which answers 503 to the rest of the API.
 */
import { hostname } from 'node:os'
import { startBroker, type BrokerHandle, type BrokerOptions, type Logger } from '../index'
import { PairLock } from './lock'
import {
  appendTakeover,
  HEARTBEAT_MS,
  lockFile,
  memberList,
  readDescriptors,
  readTakeovers,
  STALE_MS,
  writeDescriptor,
  type MemberDescriptor,
} from './members'
import { StandbyHttp } from './standby-http'
import { hostPort, registerHaSource, type HaRole, type HaSource, type HaStatus, type HaTakeover } from './status'

export interface PairMemberOptions {
  /** the shared data directory (warren.db and pair/) */
  dataDir: string
  /** this member's name; default `warren-<port>@<hostname>` */
  node?: string
  /** what startBroker gets when this member becomes active (dataDir is added) */
  broker: Omit<BrokerOptions, 'dataDir' | 'logger'>
  logger?: Logger
  /** how often a standby tries the lock, in ms (default 200; each try is jittered by ±25%) */
  pollMs?: number
  /** how often the descriptor is rewritten, in ms (default 1000) */
  heartbeatMs?: number
  /** called once this member is active and accepting connections */
  onActive?(broker: BrokerHandle, takeover: HaTakeover): void
  /** called when a standby fails to become active (the broker could not start); the lock has been released */
  onFatal?(error: unknown): void
}

export interface PairMember extends HaSource {
  readonly node: string
  readonly role: HaRole
  /** the broker, while active */
  readonly broker: BrokerHandle | undefined
  /** the standby's management HTTP address while standby (undefined without httpPort) */
  readonly standbyHttpPort: number | undefined
  /** stops the broker or the standby, marks the descriptor stopped, then releases the lock */
  close(): Promise<void>
}

const silent: Logger = { info() {}, warn() {}, error() {} }
/** how long a taking-over member retries ports the dead active may still be releasing */
const PORT_RETRY_MS = 5000

export function defaultNodeName(port: number): string {
  return `warren-${port}@${hostname()}`
}

/** Starts a member: active if it gets the lock right away, standby otherwise. */
export async function startPairMember(options: PairMemberOptions): Promise<PairMember> {
  const member = new Member(options)
  await member.start()
  return member
}

class Member implements PairMember {
  readonly node: string
  private readonly logger: Logger
  private readonly lock: PairLock
  private readonly self: MemberDescriptor
  private readonly localHost = hostname()
  private brokerHandle: BrokerHandle | undefined
  private standbyHttp: StandbyHttp | undefined
  private standbyPort: number | undefined
  private pollTimer: NodeJS.Timeout | undefined
  private heartbeatTimer: NodeJS.Timeout | undefined
  private closing: Promise<void> | undefined
  private activating = false
  /** the takeover in progress (startBroker running); close() waits for it before the lock goes */
  private activation: Promise<void> | undefined
  /** the last moment a lock attempt found the lock held */
  private lastBusyAt: number | undefined
  /** the member seen active (fresh descriptor) while this one waited */
  private watching: string | undefined

  constructor(private readonly options: PairMemberOptions) {
    const port = options.broker.port ?? 5672
    const host = options.broker.host ?? '0.0.0.0'
    this.node = options.node ?? defaultNodeName(port)
    this.logger = options.logger ?? silent
    this.lock = new PairLock(lockFile(options.dataDir))
    const now = Date.now()
    this.self = {
      name: this.node,
      role: 'standby',
      amqp: hostPort(host, port),
      http: options.broker.httpPort === undefined ? null : hostPort(options.broker.httpHost ?? '127.0.0.1', options.broker.httpPort),
      pid: process.pid,
      hostname: this.localHost,
      started_at: now,
      last_seen_at: now,
      active_since: null,
    }
  }

  get role(): HaRole {
    return this.self.role === 'active' ? 'active' : 'standby'
  }

  get broker(): BrokerHandle | undefined {
    return this.brokerHandle
  }

  get standbyHttpPort(): number | undefined {
    return this.standbyPort
  }

  status(): HaStatus {
    this.self.last_seen_at = Date.now()
    return {
      mode: 'pair',
      node: this.node,
      role: this.role,
      members: memberList(this.options.dataDir, this.self, this.localHost),
      takeovers: readTakeovers(this.options.dataDir),
    }
  }

  async start(): Promise<void> {
    this.refuseDuplicateName()
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatMs ?? HEARTBEAT_MS)
    this.heartbeatTimer.unref()
    try {
      if (this.lock.tryAcquire(this.node, 0)) {
        const acquiredAt = Date.now()
        const previous = readTakeovers(this.options.dataDir, 1)[0]?.node ?? null
        this.activation = this.activate('start', previous, acquiredAt, acquiredAt)
        await this.activation
        return
      }
      this.lastBusyAt = Date.now()
      await this.enterStandby()
    } catch (error) {
      clearInterval(this.heartbeatTimer)
      this.self.role = 'stopped'
      this.writeSelf()
      this.lock.release()
      throw error
    }
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      clearTimeout(this.pollTimer)
      clearInterval(this.heartbeatTimer)
      try {
        // a takeover under way finishes first: its broker is then closed here, before the lock is released
        await this.activation?.catch(() => {})
        await this.brokerHandle?.close()
        await this.standbyHttp?.close()
      } finally {
        // the descriptor says 'stopped' before the lock goes, so the standby that takes it knows the peer stopped
        this.self.role = 'stopped'
        this.self.active_since = null
        this.self.last_seen_at = Date.now()
        this.writeSelf()
        this.lock.release()
      }
    })()
    return this.closing
  }

  /** Two live members with one name would overwrite each other's descriptor: refused. */
  private refuseDuplicateName(): void {
    const now = Date.now()
    for (const d of readDescriptors(this.options.dataDir)) {
      if (d.name !== this.node || d.role === 'stopped' || now - d.last_seen_at > STALE_MS) continue
      if (d.hostname === this.localHost && d.pid === process.pid) continue
      if (d.hostname === this.localHost && !processAlive(d.pid)) continue
      throw new Error(`another pair member named "${this.node}" is running (pid ${d.pid} on ${d.hostname}); give each member its own --node`)
    }
  }

  private async enterStandby(): Promise<void> {
    this.self.role = 'standby'
    this.writeSelf()
    const { httpPort, httpHost, tls, https, httpAllowedHosts } = this.options.broker
    if (httpPort !== undefined) {
      const http = new StandbyHttp({
        dataDir: this.options.dataDir,
        status: () => this.status(),
        logger: this.logger,
        tls: https && tls ? { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}), minVersion: 'TLSv1.2' } : undefined,
        allowedHosts: httpAllowedHosts,
      })
      const address = await http.listen(httpPort, httpHost ?? '127.0.0.1')
      this.standbyHttp = http
      this.standbyPort = address.port
      this.self.http = hostPort(address.address, address.port)
      this.writeSelf()
    }
    this.noteActive()
    this.logger.info(`pair member ${this.node}: standby (the active one is ${this.watching ?? 'not known yet'}); trying the storage lock every ${this.pollMs()} ms`)
    this.schedulePoll()
  }

  private pollMs(): number {
    return this.options.pollMs ?? 200
  }

  private schedulePoll(): void {
    if (this.closing) return
    const base = this.pollMs()
    this.pollTimer = setTimeout(() => this.poll(), base * (0.75 + Math.random() * 0.5))
  }

  private poll(): void {
    if (this.closing || this.activating) return
    let acquired: boolean
    try {
      acquired = this.lock.tryAcquire(this.node, 0)
    } catch (error) {
      this.logger.warn(`pair member ${this.node}: lock attempt failed: ${error instanceof Error ? error.message : String(error)}`)
      acquired = false
    }
    if (!acquired) {
      this.lastBusyAt = Date.now()
      this.noteActive()
      this.schedulePoll()
      return
    }
    const acquiredAt = Date.now()
    let previous: string | null
    let reason: HaTakeover['reason']
    if (this.watching === undefined) {
      // no member was seen active: both members were starting (a race the lock settled) or the active never wrote
      previous = readTakeovers(this.options.dataDir, 1)[0]?.node ?? null
      reason = 'start'
    } else {
      previous = this.watching
      const peer = readDescriptors(this.options.dataDir).find((d) => d.name === previous)
      reason = peer?.role === 'stopped' ? 'peer-stopped' : 'peer-died'
    }
    const since = reason === 'start' ? acquiredAt : (this.lastBusyAt ?? acquiredAt)
    this.activating = true
    this.activation = this.activate(reason, previous, since, acquiredAt).then(
      () => {
        this.activating = false
      },
      (error: unknown) => {
        this.activating = false
        if (this.closing) return // close() marks the descriptor and releases the lock
        this.logger.error(`pair member ${this.node}: could not become active: ${error instanceof Error ? error.message : String(error)}`)
        this.self.role = 'stopped'
        this.writeSelf()
        this.lock.release()
        this.options.onFatal?.(error)
      },
    )
  }

  /** Remembers which member claims to be active (a fresh descriptor), for the takeover record. */
  private noteActive(): void {
    const now = Date.now()
    const active = readDescriptors(this.options.dataDir).find((d) => d.name !== this.node && d.role === 'active' && now - d.last_seen_at <= STALE_MS)
    if (active) this.watching = active.name
  }

  private async activate(reason: HaTakeover['reason'], previous: string | null, since: number, acquiredAt: number): Promise<void> {
    if (this.standbyHttp) {
      await this.standbyHttp.close()
      this.standbyHttp = undefined
      this.standbyPort = undefined
    }
    const broker = await this.startBrokerRetryingPorts()
    registerHaSource(broker.core, this)
    this.brokerHandle = broker
    if (this.closing) return // close() closes it
    const readyAt = Date.now()
    this.self.role = 'active'
    this.self.active_since = readyAt
    this.self.amqp = hostPort(broker.host, broker.port)
    if (broker.httpPort !== undefined && broker.httpHost !== undefined) this.self.http = hostPort(broker.httpHost, broker.httpPort)
    this.self.last_seen_at = readyAt
    this.writeSelf()
    const takeover: HaTakeover = {
      at: readyAt,
      node: this.node,
      previous,
      reason,
      took_ms: readyAt - since,
      lock_wait_ms: acquiredAt - since,
      recovery_ms: readyAt - acquiredAt,
    }
    appendTakeover(this.options.dataDir, takeover)
    if (reason === 'start') {
      this.logger.info(`pair member ${this.node}: active (took the storage lock at start; recovery and listening took ${takeover.recovery_ms} ms)`)
    } else {
      this.logger.info(
        `pair member ${this.node}: TAKEOVER from ${previous} (${reason}): accepting connections ${takeover.took_ms} ms after its lock was last seen held ` +
          `(lock taken after ${takeover.lock_wait_ms} ms, recovery and listening ${takeover.recovery_ms} ms)`,
      )
    }
    this.options.onActive?.(broker, takeover)
  }

  /** startBroker; a port still held by the dead active for a moment (EADDRINUSE) is tried again for a while. */
  private async startBrokerRetryingPorts(): Promise<BrokerHandle> {
    const deadline = Date.now() + PORT_RETRY_MS
    for (;;) {
      try {
        return await startBroker({ ...this.options.broker, dataDir: this.options.dataDir, logger: this.logger })
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || Date.now() > deadline || this.closing) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }

  private heartbeat(): void {
    this.self.last_seen_at = Date.now()
    this.writeSelf()
  }

  private writeSelf(): void {
    try {
      writeDescriptor(this.options.dataDir, this.self)
    } catch (error) {
      this.logger.warn(`pair member ${this.node}: could not write its descriptor: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
