/**
 * The web console: `npm run console -- --port 5672 --http-port 15672 --data ./data`.
 *
 * Two processes, so a broker at full load never stalls the console:
 *   - this process (the console) owns --http-port: it serves the built renderer, the contract
 *     (POST /console/api/{command}, GET /console/events) and proxies every other path (/api/...) to the broker's
 *     management HTTP API, so --http-port is still the RabbitMQ-compatible API for rabbitmqadmin and scripts;
 *   - a child process (main/console/broker-host.ts, run by EmbeddedBroker like the desktop app does) runs the
 *     broker: AMQP on --port, its HTTP API on a loopback port of its own choosing.
 * The console's own database (profiles) is <data>/console/console.db with its AES-256-GCM key in
 * <data>/console/secret.key (mode 0600); the broker's store is <data>/broker.
 */
import { mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { amqpUrl, clientHost } from '../../broker/cli-options'
import { isLoopbackAddress } from '../../broker/http/csrf'
import type { BrokerStatus, CommandHandlers } from '../contract'
import { brokerHostBeside, EmbeddedBroker } from './embedded-broker'
import { createHttpProxy } from './http-proxy'
import { ProfileStore } from './profiles'
import { AesGcmSecretBox } from './secrets'
import { createConsoleService } from './service'
import { createWebConsoleHandler } from './web-server'

export interface WebConsoleOptions {
  port: number
  httpPort: number
  host: string
  /** undefined: broker in memory, console database in memory (a throw-away key) */
  dataDir?: string
  /** the built renderer; default out/renderer */
  staticDir?: string
  tickMs?: number
  log?: (message: string) => void
  /** how to run the broker host (default: broker-host next to this module, the .ts source through tsx) */
  brokerHost?: { nodePath?: string; hostScript: string; nodeArgs?: string[] }
  /** how long the broker may take to start (default 30 s) */
  brokerStartTimeoutMs?: number
}

export interface RunningWebConsole {
  amqpUrl: string
  /** the console's URL: renderer, contract, and the proxied management HTTP API */
  httpUrl: string
  amqpPort: number
  httpPort: number
  /** the broker's child process, its real state (pid, failure with its stderr tail) */
  broker: EmbeddedBroker
  /** the broker's own HTTP API on loopback (what the console proxies /api to) */
  brokerHttpUrl: string
  close(): Promise<void>
}

function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolvePromise, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolvePromise(server.address() as AddressInfo)
    })
  })
}

export async function startWebConsole(o: WebConsoleOptions): Promise<RunningWebConsole> {
  const log = o.log ?? (() => {})
  const consoleDir = o.dataDir ? join(resolve(o.dataDir), 'console') : undefined
  // the console's database and key are for this user only
  if (consoleDir) mkdirSync(consoleDir, { recursive: true, mode: 0o700 })
  const secrets = consoleDir ? AesGcmSecretBox.fromKeyFile(join(consoleDir, 'secret.key')) : new AesGcmSecretBox((await import('node:crypto')).randomBytes(32))
  const profiles = new ProfileStore(consoleDir ? join(consoleDir, 'console.db') : ':memory:', secrets, { amqpUrl: '', managementUrl: '' })

  const brokerDataDir = o.dataDir ? join(resolve(o.dataDir), 'broker') : undefined
  if (brokerDataDir) mkdirSync(brokerDataDir, { recursive: true })
  const hostRun = o.brokerHost ?? brokerHostBeside(import.meta.filename)
  const broker = new EmbeddedBroker({
    // the node running the console: better-sqlite3 is built for it
    nodePath: o.brokerHost?.nodePath ?? process.execPath,
    hostScript: hostRun.hostScript,
    nodeArgs: hostRun.nodeArgs,
    port: o.port,
    host: o.host,
    // the broker's own HTTP API stays on loopback, on a port the OS picks; the console proxies to it
    httpPort: 0,
    httpHost: '127.0.0.1',
    dataDir: brokerDataDir,
    startTimeoutMs: o.brokerStartTimeoutMs ?? 30_000,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    // Ctrl-C stops the console, which stops the broker gracefully; not both at once
    ownProcessGroup: true,
    onLog: (level, message) => log(`broker ${level}: ${message}`),
  })

  // the service emits through the web handler, which serves the service's handlers: tie the knot through `late`
  const late: { web?: ReturnType<typeof createWebConsoleHandler>; publicUrl?: string } = {}
  const service = createConsoleService({
    profiles,
    emit: (event, payload) => late.web?.emit(event, payload),
    tickMs: o.tickMs,
    hasListeners: () => (late.web?.clientCount() ?? 0) > 0,
    log: (_level, message) => log(message),
  })
  /** The child's state, with the console's URL as the HTTP API users reach (the child's port is internal). */
  const brokerStatus = (): BrokerStatus => {
    const s = broker.status()
    return s.state === 'running' && late.publicUrl ? { ...s, httpUrl: late.publicUrl } : s
  }
  const handlers: CommandHandlers = { ...service.handlers, 'broker.status': () => brokerStatus() }
  const web = createWebConsoleHandler({ handlers, staticDir: o.staticDir ?? resolve(import.meta.dirname, '../../out/renderer') })
  late.web = web

  let target: { host: string; port: number } | undefined
  const proxy = createHttpProxy({
    target: () => target,
    // bound beyond loopback: users reach the API by names the loopback-bound broker would take for DNS rebinding
    forwardHost: () => (late.publicUrl && !isLoopbackAddress(o.host) && o.host !== 'localhost' ? new URL(late.publicUrl).host : undefined),
    unavailableReason: () => {
      const s = broker.status()
      return s.error ? `${s.state}: ${s.error.message.split('\n')[0]}` : s.state
    },
  })
  const server = createServer((req, res) => {
    Promise.resolve(web.handler(req, res)).then(
      (answered) => {
        if (!answered) proxy.handle(req, res)
      },
      (e: unknown) => {
        log(`console request ${req.method} ${req.url} failed: ${e instanceof Error ? e.message : String(e)}`)
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
        res.end('internal error')
      },
    )
  })
  // SSE streams stay open; requests themselves must not hang forever
  server.headersTimeout = 30_000
  const closeServer = (): Promise<void> =>
    new Promise((r) => {
      server.close(() => r())
      server.closeAllConnections()
    })

  // the console's port first: a port in use fails before a broker is started
  const address = await listen(server, o.httpPort, o.host)
  const httpUrl = `http://${clientHost(address.address)}:${address.port}`
  late.publicUrl = httpUrl

  const statusChanged = (status: BrokerStatus): void => {
    if (status.state === 'running' && status.httpUrl) {
      const u = new URL(status.httpUrl)
      target = { host: u.hostname, port: Number(u.port) }
    } else {
      target = undefined
    }
    if (status.state === 'failed') log(`broker failed: ${status.error?.message ?? 'unknown reason'}`)
    web.emit('broker.statusChanged', brokerStatus())
  }
  broker.onStatusChange(statusChanged)

  const started = await broker.start()
  if (started.state !== 'running' || started.port === undefined || !started.httpUrl) {
    web.close()
    await service.close()
    await broker.stop()
    proxy.close()
    await closeServer()
    throw new Error(`the broker did not start: ${started.error?.message ?? started.state}`)
  }
  const amqp = amqpUrl(started.host ?? o.host, started.port)
  // the embedded profile talks to the broker like to any RabbitMQ: through the console's --http-port
  profiles.setEmbeddedEndpoints({ amqpUrl: amqp, managementUrl: httpUrl })
  service.startTicks()

  let closing: Promise<void> | undefined
  return {
    amqpUrl: amqp,
    httpUrl,
    amqpPort: started.port,
    httpPort: address.port,
    broker,
    brokerHttpUrl: started.httpUrl,
    close() {
      closing ??= (async () => {
        web.close()
        service.stopTicks()
        await service.close()
        await broker.stop()
        proxy.close()
        await closeServer()
      })()
      return closing
    },
  }
}

export const USAGE = `Usage: npm run console -- [options]

Starts the embedded broker (in a child process) and serves the Warren console in a browser, and the broker's
RabbitMQ-compatible management HTTP API, on --http-port.

Options:
  --port <n>        AMQP port (default 5672; 0 picks a free one)
  --http-port <n>   HTTP port of the management API and the console (default 15672; 0 picks a free one)
  --host <addr>     address to bind (default 127.0.0.1)
  --data <dir>      directory for the broker's store and the console's database (omitted: all in memory)
  --static <dir>    the built renderer (default out/renderer; build it with npm run build)
  -h, --help        show this help`

export function parseWebConsoleArgs(argv: string[]): WebConsoleOptions | { help: true } | { error: string } {
  let values
  try {
    values = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        'http-port': { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        static: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values
  } catch (e) {
    return { error: e instanceof Error ? e.message : String(e) }
  }
  if (values.help) return { help: true }
  const port = (name: string, raw: string | undefined, fallback: number): number | string => {
    if (raw === undefined) return fallback
    if (!/^\d+$/.test(raw) || Number(raw) > 65535) return `--${name} must be a port number (0-65535), got "${raw}"`
    return Number(raw)
  }
  const amqpPort = port('port', values.port, 5672)
  const httpPort = port('http-port', values['http-port'], 15672)
  if (typeof amqpPort === 'string') return { error: amqpPort }
  if (typeof httpPort === 'string') return { error: httpPort }
  return { port: amqpPort, httpPort, host: values.host ?? '127.0.0.1', dataDir: values.data, staticDir: values.static }
}

const isMain = process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename ?? '')
if (isMain) {
  const parsed = parseWebConsoleArgs(process.argv.slice(2))
  if ('help' in parsed) {
    console.log(USAGE)
  } else if ('error' in parsed) {
    console.error(`${parsed.error}\n\n${USAGE}`)
    process.exit(2)
  } else {
    startWebConsole({ ...parsed, log: (m) => console.log(`[console] ${m}`) }).then(
      (c) => {
        console.log(`Warren console on ${c.httpUrl}/  (AMQP ${c.amqpUrl})`)
        let closing = false
        const stop = (): void => {
          if (closing) return
          closing = true
          void c.close().then(() => process.exit(0))
        }
        process.on('SIGINT', stop)
        process.on('SIGTERM', stop)
      },
      (e: unknown) => {
        console.error(`console failed to start: ${e instanceof Error ? e.message : String(e)}`)
        process.exit(1)
      },
    )
  }
}
