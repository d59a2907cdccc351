/**
 * The web console: `npm run console -- --port 5672 --http-port 15672 --data ./data`.
 *
 * Starts the embedded broker in this process with its management HTTP API on --http-port, and serves on that same
 * port, through the broker's `httpHandlers` hook, the built renderer and the contract (POST /console/api/{command},
 * GET /console/events). The console's own database (profiles) is <data>/console/console.db with its AES-256-GCM
 * key in <data>/console/secret.key (mode 0600); the broker's store is <data>/broker.
 */
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { startBroker, type BrokerOptions } from '../../broker/index'
import { amqpUrl } from '../../broker/cli-options'
import type { BrokerStatus, CommandHandlers } from '../contract'
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
}

export interface RunningWebConsole {
  amqpUrl: string
  httpUrl: string
  amqpPort: number
  httpPort: number
  close(): Promise<void>
}

export async function startWebConsole(o: WebConsoleOptions): Promise<RunningWebConsole> {
  const log = o.log ?? (() => {})
  const consoleDir = o.dataDir ? join(resolve(o.dataDir), 'console') : undefined
  // the console's database and key are for this user only
  if (consoleDir) mkdirSync(consoleDir, { recursive: true, mode: 0o700 })
  const secrets = consoleDir ? AesGcmSecretBox.fromKeyFile(join(consoleDir, 'secret.key')) : new AesGcmSecretBox((await import('node:crypto')).randomBytes(32))
  const profiles = new ProfileStore(consoleDir ? join(consoleDir, 'console.db') : ':memory:', secrets, { amqpUrl: '', managementUrl: '' })

  // the service emits through the web handler, which serves the service's handlers: tie the knot through `late`
  const late: { web?: ReturnType<typeof createWebConsoleHandler> } = {}
  const service = createConsoleService({
    profiles,
    emit: (event, payload) => late.web?.emit(event, payload),
    tickMs: o.tickMs,
    hasListeners: () => (late.web?.clientCount() ?? 0) > 0,
    log: (_level, message) => log(message),
  })
  let status: BrokerStatus = { state: 'starting' }
  const handlers: CommandHandlers = { ...service.handlers, 'broker.status': () => status }
  const web = createWebConsoleHandler({ handlers, staticDir: o.staticDir ?? resolve(import.meta.dirname, '../../out/renderer') })

  late.web = web
  const brokerOptions: BrokerOptions = {
    port: o.port,
    host: o.host,
    dataDir: o.dataDir ? join(resolve(o.dataDir), 'broker') : undefined,
    httpPort: o.httpPort,
    httpHost: o.host,
    httpHandlers: [web.handler],
    // rates sampled as often as the console's overview ticks
    statsIntervalMs: 2000,
  }
  if (brokerOptions.dataDir) mkdirSync(brokerOptions.dataDir, { recursive: true })
  const startedAt = Date.now()
  const broker = await startBroker(brokerOptions)
  const httpPort = broker.httpPort
  if (httpPort === undefined) {
    await broker.close()
    throw new Error('the broker did not start its HTTP API')
  }
  const connectHost = broker.host === '0.0.0.0' || broker.host === '::' ? '127.0.0.1' : broker.host
  const httpUrl = `http://${connectHost}:${httpPort}`
  const amqp = amqpUrl(connectHost, broker.port)
  profiles.setEmbeddedEndpoints({ amqpUrl: amqp, managementUrl: httpUrl })
  status = { state: 'running', host: broker.host, port: broker.port, amqpUrl: amqp, httpUrl, dataDir: broker.dataDir, pid: process.pid }
  const statusNow = (): BrokerStatus => ({ ...status, uptimeMs: Date.now() - startedAt })
  handlers['broker.status'] = statusNow
  service.startTicks()

  return {
    amqpUrl: amqp,
    httpUrl,
    amqpPort: broker.port,
    httpPort,
    async close() {
      web.close()
      await service.close()
      await broker.close()
    },
  }
}

export const USAGE = `Usage: npm run console -- [options]

Starts the embedded broker with its management HTTP API and serves the Warren console in a browser.

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
