// Helpers for the active/standby pair (broker/ha/): spawn a pair member (`broker/cli.ts --pair`) as its own process,
// free ports, and the client side: connectToPair, the reconnect loop docs/pair.md shows to users.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, connect as netConnect } from 'node:net'
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib'
import { REPO_ROOT } from './broker'

export interface PairProcess {
  readonly child: ChildProcess
  readonly node: string
  readonly amqpPort: number
  readonly httpPort: number
  /** amqp://guest:guest@127.0.0.1:<amqpPort> */
  readonly url: string
  output(): string
  /** resolves once the output matches (or rejects after timeoutMs, or when the process exits first) */
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>
  /** the role the member announced last ('ACTIVE' / 'STANDBY' lines), undefined before either */
  announced(): 'active' | 'standby' | undefined
  /** SIGKILL (the whole process group) and wait for the exit */
  kill9(): Promise<void>
  terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** Basic-auth GET on the member's HTTP port (guest by default) */
  get(path: string, user?: string, password?: string): Promise<{ status: number; body: any }> // eslint-disable-line @typescript-eslint/no-explicit-any
}

/** Free TCP ports on loopback (bound, read, closed: free right after, which is what tests need). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<import('node:net').Server>((resolve, reject) => {
      const s = createServer()
      s.once('error', reject)
      s.listen(0, '127.0.0.1', () => resolve(s))
    })),
  )
  const ports = servers.map((s) => (s.address() as import('node:net').AddressInfo).port)
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))))
  return ports
}

/** Starts `node --import tsx broker/cli.ts --pair --data DIR --node NODE --port P --http-port H` (own process group). */
export function spawnPairMember(dataDir: string, node: string, amqpPort: number, httpPort: number, extraArgs: string[] = []): PairProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'broker/cli.ts', '--pair', '--data', dataDir, '--node', node, '--host', '127.0.0.1', '--port', String(amqpPort), '--http-port', String(httpPort), ...extraArgs],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  )
  let out = ''
  const waiters = new Set<() => void>()
  const onData = (d: Buffer) => {
    out += d.toString()
    for (const w of [...waiters]) w()
  }
  child.stdout!.on('data', onData)
  child.stderr!.on('data', onData)
  let gone = false
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      gone = true
      for (const w of [...waiters]) w()
      resolve({ code, signal })
    }),
  )
  const alive = () => child.exitCode === null && child.signalCode === null
  return {
    child,
    node,
    amqpPort,
    httpPort,
    url: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    output: () => out,
    exited,
    announced() {
      const active = out.lastIndexOf('is ACTIVE')
      const standby = out.lastIndexOf('is STANDBY')
      if (active < 0 && standby < 0) return undefined
      return active > standby ? 'active' : 'standby'
    },
    waitForOutput(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out)
          if (m) {
            done()
            resolve(m)
          } else if (gone) {
            done()
            reject(new Error(`pair member ${node} exited before printing ${pattern}; output:\n${out}`))
          }
        }
        const timer = setTimeout(() => {
          done()
          reject(new Error(`pair member ${node} did not print ${pattern} within ${timeoutMs} ms; output:\n${out}`))
        }, timeoutMs)
        const done = () => {
          clearTimeout(timer)
          waiters.delete(check)
        }
        waiters.add(check)
        check()
      })
    },
    async kill9() {
      if (alive()) {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {
          child.kill('SIGKILL')
        }
      }
      await exited
    },
    async terminate() {
      if (alive()) child.kill('SIGTERM')
      return exited
    },
    async get(path, user = 'guest', password = user) {
      const response = await fetch(`http://127.0.0.1:${httpPort}${path}`, {
        headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` },
      })
      const text = await response.text()
      return { status: response.status, body: text ? JSON.parse(text) : undefined }
    },
  }
}

/** Whether something accepts TCP connections on 127.0.0.1:port right now. */
export function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

export interface PairConnectOptions {
  /** pause after a full round of failed addresses, ms (default 250) */
  retryDelayMs?: number
  /** give up after this long, ms (default 30000) */
  timeoutMs?: number
  /** amqplib socket options (e.g. { timeout: 2000 } for the TCP connect) */
  socketOptions?: Record<string, unknown>
}

/**
 * The client side of a pair (docs/pair.md shows the same code): tries each address in turn (the standby refuses
 * connections, so at most one answers), round after round, until one accepts or timeoutMs passes.
 */
export async function connectToPair(urls: readonly string[], options: PairConnectOptions = {}): Promise<{ connection: ChannelModel; url: string }> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000)
  let lastError: unknown
  for (;;) {
    for (const url of urls) {
      try {
        const connection = await amqp.connect(url, options.socketOptions)
        return { connection, url }
      } catch (error) {
        lastError = error
      }
    }
    if (Date.now() > deadline) throw new Error(`no member of the pair accepted a connection: ${lastError instanceof Error ? lastError.message : String(lastError)}`)
    await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 250))
  }
}

export interface PairPublisher {
  /** sequence numbers the pair confirmed */
  readonly confirmed: Set<number>
  /** the highest sequence number handed to the broker so far */
  published(): number
  /** connections made after the first (through the reconnect loop) */
  reconnections(): number
  /** confirmed on a connection made after the first */
  confirmedAfterReconnect(): number
  /** stops publishing, waits for the outstanding confirms and closes */
  stop(): Promise<void>
}

/**
 * Publishes persistent messages whose bodies are 1, 2, 3… with confirms (at most 200 unconfirmed) to whichever member
 * of the pair is active, reconnecting through connectToPair when the connection is lost. `send` publishes one body on
 * the channel and calls `done` with amqplib's confirm callback. Connections are added to `connections` (to close).
 */
export function startPairPublisher(
  urls: readonly string[],
  send: (channel: ConfirmChannel, body: Buffer, done: (err: unknown) => void) => void,
  connections: ChannelModel[],
  timeoutMs = 20_000,
): PairPublisher {
  const confirmed = new Set<number>()
  let published = 0
  let reconnections = 0
  let confirmedAfterReconnect = 0
  let stopping = false
  const running = (async () => {
    let first = true
    while (!stopping) {
      const { connection } = await connectToPair(urls, { retryDelayMs: 50, timeoutMs })
      connections.push(connection)
      connection.on('error', () => {})
      if (!first) reconnections++
      const afterReconnect = !first
      first = false
      const channel = await connection.createConfirmChannel()
      channel.on('error', () => {})
      let dead = false
      let inFlight = 0
      let wake: (() => void) | undefined
      connection.on('close', () => {
        dead = true
        wake?.()
      })
      while (!dead && !stopping) {
        if (inFlight >= 200) {
          await new Promise<void>((resolve) => (wake = resolve))
          wake = undefined
          continue
        }
        const seq = ++published
        inFlight++
        try {
          send(channel, Buffer.from(String(seq)), (err) => {
            inFlight--
            if (!err) {
              confirmed.add(seq)
              if (afterReconnect) confirmedAfterReconnect++
            }
            wake?.()
          })
        } catch {
          break // amqplib refuses to publish on a closed connection
        }
        if (seq % 50 === 0) await new Promise((resolve) => setImmediate(resolve))
      }
      if (!dead) {
        await channel.waitForConfirms().catch(() => {})
        await connection.close().catch(() => {})
      }
    }
  })()
  return {
    confirmed,
    published: () => published,
    reconnections: () => reconnections,
    confirmedAfterReconnect: () => confirmedAfterReconnect,
    async stop() {
      stopping = true
      await running
    },
  }
}
