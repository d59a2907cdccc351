/**
 * Runs the embedded broker in a child process of the system `node` (see broker-host.ts for why) and tracks its
 * state for the console. No Electron here: the shell passes in paths; tests drive it with a stand-in host script.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { amqpUrl, clientHost } from '../../broker/cli-options'
import type { BrokerStatus, WarrenError } from '../contract'
import { LineSplitter, parseHostMessage } from './host-protocol'

export interface EmbeddedBrokerOptions {
  /** the `node` executable to run the host with (see resolveNodePath) */
  nodePath: string
  /** absolute path of the built broker host script (out/main/broker-host.js) */
  hostScript: string
  /** extra arguments for node before the script (tests run the TypeScript source with ['--import', 'tsx']) */
  nodeArgs?: string[]
  port: number
  host: string
  /** port of the broker's management HTTP API; undefined = none */
  httpPort?: number
  /** address the HTTP API binds (the host's --bind); undefined = `host` */
  httpHost?: string
  /** undefined = in-memory store */
  dataDir?: string
  heartbeat?: number
  /** how long the host may take to report it is listening (default 15 s) */
  startTimeoutMs?: number
  /** how long a graceful stop may take before the host is killed (default 10 s) */
  stopTimeoutMs?: number
  env?: NodeJS.ProcessEnv
  /**
   * run the host in its own process group, so a Ctrl-C in the terminal reaches only the parent, which then stops
   * the broker in order (the host still stops by itself when the parent dies: its stdin closes)
   */
  ownProcessGroup?: boolean
  onLog?: (level: 'info' | 'warn' | 'error', message: string) => void
  now?: () => number
}

/** The node to run the host with: $WARREN_NODE, else the node that ran npm ($npm_node_execpath), else `node` on PATH. */
export function resolveNodePath(env: NodeJS.ProcessEnv): string {
  return env.WARREN_NODE || env.npm_node_execpath || 'node'
}

/** The first port from `start` on that nothing listens on (on `host`). */
export async function findFreePort(start: number, host = '127.0.0.1', tries = 50): Promise<number> {
  for (let port = start; port < start + tries && port <= 65535; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer()
      server.once('error', () => resolve(false))
      server.listen(port, host, () => server.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error(`no free port in ${start}..${start + tries - 1}`)
}

/**
 * How to run the broker host next to the module at `moduleFile` (pass import.meta.filename): the built
 * broker-host.js when that module is built JavaScript, else the TypeScript source through tsx's loader
 * (resolved to an absolute URL, so it works from any working directory).
 */
export function brokerHostBeside(moduleFile: string): { hostScript: string; nodeArgs: string[] } {
  const dir = dirname(moduleFile)
  if (moduleFile.endsWith('.js') || moduleFile.endsWith('.mjs')) {
    const built = join(dir, 'broker-host.js')
    if (existsSync(built)) return { hostScript: built, nodeArgs: [] }
  }
  const tsx = pathToFileURL(createRequire(moduleFile).resolve('tsx')).href
  return { hostScript: join(dir, 'broker-host.ts'), nodeArgs: ['--import', tsx] }
}

const STDERR_TAIL_LINES = 20

export class EmbeddedBroker {
  private child: ChildProcess | undefined
  private current: BrokerStatus = { state: 'stopped' }
  private startedAt: number | undefined
  private lastError: WarrenError | undefined
  private stderrTail: string[] = []
  private readonly listeners = new Set<(status: BrokerStatus) => void>()
  private startPromise: Promise<BrokerStatus> | undefined
  private stopPromise: Promise<void> | undefined
  private readonly now: () => number

  constructor(private readonly options: EmbeddedBrokerOptions) {
    this.now = options.now ?? Date.now
  }

  /** Sets the HTTP API port used by the next start (the console picks a free one just before starting). */
  setHttpPort(port: number | undefined): void {
    this.options.httpPort = port
  }

  /** A snapshot, with uptime computed now. */
  status(): BrokerStatus {
    const s: BrokerStatus = { ...this.current }
    if (s.state === 'running' && this.startedAt !== undefined) s.uptimeMs = Math.max(0, this.now() - this.startedAt)
    return s
  }

  onStatusChange(listener: (status: BrokerStatus) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Starts the host; resolves once it is running or has failed (never rejects). */
  start(): Promise<BrokerStatus> {
    if (this.startPromise) return this.startPromise
    if (this.current.state === 'running') return Promise.resolve(this.status())
    this.startPromise = this.spawnHost().finally(() => {
      this.startPromise = undefined
    })
    return this.startPromise
  }

  /** Asks the host to close its connections and flush, then waits for it to exit (killing it after stopTimeoutMs). */
  stop(): Promise<void> {
    if (this.stopPromise) return this.stopPromise
    const child = this.child
    if (!child || child.exitCode !== null || child.signalCode !== null) {
      if (this.current.state !== 'failed') this.setStatus({ state: 'stopped' })
      return Promise.resolve()
    }
    this.setStatus({ ...this.current, state: 'stopping' })
    this.stopPromise = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        const message = `broker host did not stop within ${this.options.stopTimeoutMs ?? 10_000} ms and was killed; its last writes may be lost`
        this.lastError = { code: 'BROKER_KILLED', message }
        this.log('warn', message)
        child.kill('SIGKILL')
      }, this.options.stopTimeoutMs ?? 10_000)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      child.stdin?.end()
    }).finally(() => {
      this.stopPromise = undefined
    })
    return this.stopPromise
  }

  private spawnHost(): Promise<BrokerStatus> {
    const o = this.options
    const args = [...(o.nodeArgs ?? []), o.hostScript, '--port', String(o.port), '--host', o.host]
    if (o.dataDir !== undefined) args.push('--data', o.dataDir)
    if (o.heartbeat !== undefined) args.push('--heartbeat', String(o.heartbeat))
    if (o.httpPort !== undefined) args.push('--http-port', String(o.httpPort))
    if (o.httpPort !== undefined && o.httpHost !== undefined) args.push('--bind', o.httpHost)
    const env = { ...(o.env ?? process.env) }
    delete env.ELECTRON_RUN_AS_NODE

    this.lastError = undefined
    this.stderrTail = []
    this.startedAt = undefined
    this.setStatus({ state: 'starting', host: o.host, port: o.port || undefined, dataDir: o.dataDir })

    return new Promise<BrokerStatus>((resolve) => {
      let settled = false
      const settle = (): void => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(this.status())
      }

      const child = spawn(o.nodePath, args, { stdio: ['pipe', 'pipe', 'pipe'], env, windowsHide: true, detached: o.ownProcessGroup ?? false })
      this.child = child
      const timer = setTimeout(() => {
        this.lastError = { code: 'BROKER_START_TIMEOUT', message: `broker did not start within ${o.startTimeoutMs ?? 15_000} ms` }
        child.kill('SIGKILL')
      }, o.startTimeoutMs ?? 15_000)

      child.on('error', (e: NodeJS.ErrnoException) => {
        // spawn failed (e.g. no `node` on PATH): there will be no 'exit' after this
        if (child.pid !== undefined) return
        this.child = undefined
        const code = e.code === 'ENOENT' ? 'NODE_NOT_FOUND' : 'BROKER_SPAWN_FAILED'
        this.setStatus({ state: 'failed', error: { code, message: `could not run ${o.nodePath}: ${e.message}` } })
        settle()
      })

      const stdout = new LineSplitter((line) => {
        const m = parseHostMessage(line)
        if (!m) return
        switch (m.type) {
          case 'ready':
            this.startedAt = this.now()
            this.setStatus({
              state: 'running',
              host: m.host,
              port: m.port,
              amqpUrl: amqpUrl(m.host, m.port),
              ...(m.httpPort !== undefined ? { httpUrl: `http://${clientHost(m.httpHost ?? m.host)}:${m.httpPort}` } : {}),
              dataDir: m.dataDir ?? undefined,
              pid: m.pid,
            })
            settle()
            break
          case 'log':
            this.log(m.level, m.message)
            break
          case 'fatal':
            this.lastError = { code: 'BROKER_FAILED', message: m.message }
            this.log('error', m.message)
            break
          case 'closed':
            break
        }
      })
      const stderr = new LineSplitter((line) => {
        this.stderrTail.push(line)
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift()
      })
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => stdout.push(chunk))
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk))
      // the host may exit before reading its stdin; ignore EPIPE there
      child.stdin?.on('error', () => {})

      child.on('exit', (code, signal) => {
        stdout.end()
        stderr.end()
        if (this.child === child) this.child = undefined
        this.startedAt = undefined
        if (this.current.state === 'stopping' && this.lastError === undefined) {
          this.setStatus({ state: 'stopped', dataDir: this.current.dataDir })
        } else {
          const how = signal ? `signal ${signal}` : `code ${code}`
          const tail = this.stderrTail.length ? `\n${this.stderrTail.join('\n')}` : ''
          const error = this.lastError ?? { code: 'BROKER_EXITED', message: `broker host exited with ${how}${tail}` }
          this.setStatus({ state: 'failed', error })
        }
        settle()
      })
    })
  }

  private setStatus(status: BrokerStatus): void {
    this.current = status
    const snapshot = this.status()
    for (const listener of this.listeners) {
      try {
        listener(snapshot)
      } catch {
        // a listener's failure must not break the broker's bookkeeping
      }
    }
  }

  private log(level: 'info' | 'warn' | 'error', message: string): void {
    this.options.onLog?.(level, message)
  }
}
