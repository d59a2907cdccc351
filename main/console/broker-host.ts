/**
 * The broker host: the process the desktop app starts for its embedded broker. Built by electron-vite as a second
 * main entry (out/main/broker-host.js) and run by the system `node`, NOT by Electron: better-sqlite3 is compiled
 * for Node's ABI, and a separate process keeps a busy broker from freezing the window.
 *
 * Takes the same options as the headless CLI (broker/cli-options.ts) and speaks the protocol in host-protocol.ts.
 */
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { startBroker, type BrokerHandle, type BrokerOptions } from '../../broker/index'
import { parseCliOptions } from '../../broker/cli-options'
import { encodeHostMessage, type HostMessage } from './host-protocol'

function send(message: HostMessage): void {
  process.stdout.write(encodeHostMessage(message))
}

async function main(): Promise<void> {
  // the broker CLI's options, --http-port and --bind included
  const parsed = parseCliOptions(process.argv.slice(2))
  if (parsed.kind !== 'run') {
    send({ type: 'fatal', message: parsed.kind === 'error' ? `bad options: ${parsed.message}` : 'broker host takes no --help' })
    process.exit(2)
  }
  const { port, host, heartbeat, httpPort } = parsed.options
  // --bind: where the HTTP API listens; default: loopback (startBroker's), even when AMQP listens on every interface
  // (WARREN_AMQP_HOST=0.0.0.0 must not expose the management API too)
  const httpHost = parsed.options.httpHost
  const dataDir = parsed.options.dataDir === undefined ? undefined : resolve(parsed.options.dataDir)
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true })

  let handle: BrokerHandle
  try {
    // httpPort: the broker's management HTTP API (broker/http), which the desktop console talks to
    const options: BrokerOptions = {
      port,
      host,
      dataDir,
      heartbeat,
      httpPort,
      httpHost,
      // rates sampled as often as the console's overview ticks (RabbitMQ's default is 5 s)
      statsIntervalMs: 2000,
      logger: {
        info: (message: string) => send({ type: 'log', level: 'info', message }),
        warn: (message: string) => send({ type: 'log', level: 'warn', message }),
        error: (message: string) => send({ type: 'log', level: 'error', message }),
      },
    }
    handle = await startBroker(options)
  } catch (e) {
    send({ type: 'fatal', message: `broker failed to start: ${e instanceof Error ? e.message : String(e)}` })
    process.exit(1)
  }
  const actualHttpPort = handle.httpPort
  send({ type: 'ready', host: handle.host, port: handle.port, dataDir: handle.dataDir ?? null, pid: process.pid, ...(actualHttpPort !== undefined ? { httpPort: actualHttpPort, httpHost: handle.httpHost ?? httpHost } : {}) })

  let closing = false
  const shutdown = (): void => {
    if (closing) return
    closing = true
    handle.close().then(
      () => {
        send({ type: 'closed' })
        process.exit(0)
      },
      (e: unknown) => {
        send({ type: 'fatal', message: `error while closing: ${e instanceof Error ? e.message : String(e)}` })
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
  // The parent closes our stdin to ask for a shutdown; it is also closed when the parent dies.
  process.stdin.on('end', shutdown)
  process.stdin.on('error', shutdown)
  process.stdin.resume()
}

main().catch((e: unknown) => {
  send({ type: 'fatal', message: e instanceof Error ? (e.stack ?? e.message) : String(e) })
  process.exit(1)
})
