// Test-broker helpers: start the embedded Warren broker (or use an external AMQP broker
// such as a real RabbitMQ when WARREN_TEST_AMQP_URL is set), spawn the CLI as a child
// process, make unique names.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { randomBytes } from 'node:crypto'

/** Set when the suite runs against an external broker (e.g. a real RabbitMQ). */
export const EXTERNAL_URL = process.env.WARREN_TEST_AMQP_URL || undefined
export const external = !!EXTERNAL_URL

export const REPO_ROOT = resolve(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', '..')

export interface TestBroker {
  /** amqp URL including credentials (guest:guest) and no vhost path (= "/"). */
  readonly url: string
  readonly port: number
  readonly host: string
  readonly dataDir?: string
  close(): Promise<void>
  /** Close and start again on the same dataDir (embedded broker only). url/port may change. */
  restart?(): Promise<void>
}

interface BrokerHandleLike {
  readonly port: number
  readonly host: string
  close(): Promise<void>
}

type StartBroker = (o?: Record<string, unknown>) => Promise<BrokerHandleLike>

async function loadStartBroker(): Promise<StartBroker> {
  // Built at runtime so that this file type-checks and loads before broker/index.ts exists.
  const spec = join(REPO_ROOT, 'broker', 'index.ts')
  const mod = (await import(/* @vite-ignore */ spec)) as { startBroker: StartBroker }
  return mod.startBroker
}

const quietLogger = {
  info(_m: string) {},
  warn(_m: string) {},
  error(m: string) {
    if (process.env.WARREN_TEST_VERBOSE) console.error('[broker]', m)
  },
}

export function makeTempDir(prefix = 'warren-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/**
 * Start a broker for a test file. Against an external broker (WARREN_TEST_AMQP_URL), returns
 * that URL, close() is a no-op and restart is undefined.
 * `persistent: true` gives the embedded broker a temp dataDir (removed on close()).
 */
export async function startTestBroker(opts: { persistent?: boolean; heartbeat?: number } = {}): Promise<TestBroker> {
  if (EXTERNAL_URL) {
    const u = new URL(EXTERNAL_URL)
    return {
      url: EXTERNAL_URL.replace(/\/+$/, ''),
      port: Number(u.port || 5672),
      host: u.hostname,
      dataDir: undefined,
      async close() {},
      restart: undefined,
    }
  }
  const startBroker = await loadStartBroker()
  const dataDir = opts.persistent ? makeTempDir() : undefined
  const start = () =>
    startBroker({ port: 0, host: '127.0.0.1', dataDir, logger: quietLogger, ...(opts.heartbeat !== undefined ? { heartbeat: opts.heartbeat } : {}) })
  let handle = await start()
  let closed = false
  const tb: TestBroker = {
    get url() {
      return `amqp://guest:guest@${handle.host === '0.0.0.0' ? '127.0.0.1' : handle.host}:${handle.port}`
    },
    get port() {
      return handle.port
    },
    get host() {
      return handle.host
    },
    dataDir,
    async close() {
      if (closed) return
      closed = true
      await handle.close()
      if (dataDir) rmSync(dataDir, { recursive: true, force: true })
    },
    async restart() {
      await handle.close()
      handle = await start()
    },
  }
  return tb
}

export interface BrokerProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  /** Everything the process printed so far (stdout + stderr). */
  output(): string
  /** SIGKILL the process group and wait for exit. */
  kill9(): Promise<void>
  /** SIGTERM and wait for exit; resolves with the exit code/signal. */
  terminate(): Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

/**
 * Run the broker CLI (`broker/cli.ts --port 0 --data DIR`) as a child process and resolve once
 * it prints `amqp://127.0.0.1:PORT`. The child is `node --import tsx` (one process, so SIGKILL
 * really kills the broker) in its own process group.
 */
export function spawnBrokerProcess(dataDir: string, extraArgs: string[] = [], timeoutMs = 20_000): Promise<BrokerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/cli.ts', '--port', '0', '--data', dataDir, ...extraArgs], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  })
  let out = ''
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  )
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
      reject(new Error(`broker CLI did not print its URL within ${timeoutMs} ms; output:\n${out}`))
    }, timeoutMs)
    const onData = (d: Buffer) => {
      out += d.toString()
      const m = /amqp:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      if (m && !settled) {
        settled = true
        clearTimeout(timer)
        const port = Number(m[1])
        resolvePromise({
          child,
          port,
          url: `amqp://guest:guest@127.0.0.1:${port}`,
          output: () => out,
          async kill9() {
            if (child.exitCode === null && child.signalCode === null) {
              try {
                process.kill(-child.pid!, 'SIGKILL')
              } catch {
                child.kill('SIGKILL')
              }
            }
            await exited
          },
          async terminate() {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
            return exited
          },
          exited,
        })
      }
    }
    let settled = false
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code, signal) => {
      if (!settled) {
        settled = true
        clearTimeout(timer)
        reject(new Error(`broker CLI exited early (code ${code}, signal ${signal}); output:\n${out}`))
      }
    })
  })
}

/** A random suffix, so that tests can share one RabbitMQ without name collisions. */
export function rnd(n = 6): string {
  return randomBytes(n).toString('hex')
}

/** A unique resource name such as `wt.q.<test>.<random>`. Never starts with `amq.`. */
export function uniq(prefix = 'x'): string {
  return `wt.${prefix}.${rnd()}`
}

/** URL for another vhost (URL-encoded path), keeping host, port and credentials. */
export function urlWithVhost(url: string, vhost: string): string {
  const u = new URL(url)
  u.pathname = '/' + encodeURIComponent(vhost)
  return u.toString()
}

/** URL with other credentials. */
export function urlWithCredentials(url: string, user: string, pass: string): string {
  const u = new URL(url)
  u.username = encodeURIComponent(user)
  u.password = encodeURIComponent(pass)
  return u.toString()
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}

/** Poll `fn` until it returns a truthy value or the timeout passes. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`waitFor timed out after ${timeoutMs} ms`)
    await sleep(stepMs)
  }
}
