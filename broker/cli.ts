/**
 * The headless broker: `npm run broker -- --port 5672 --data ./data`. See `--help` (broker/cli-options.ts).
 *
 * Exit status: 0 after a clean shutdown on SIGINT/SIGTERM, 1 if the broker fails to start or to close,
 * 2 for bad options.
 */
import { mkdirSync } from 'node:fs'
import { totalmem } from 'node:os'
import { resolve } from 'node:path'
import { startBroker, type BrokerHandle, type BrokerTlsOptions } from './index'
import { USAGE, amqpUrl, amqpsUrl, httpUrl, memoryWatermarkBytes, parseCliOptions } from './cli-options'
import { readTlsFiles } from './tls'

const logger = {
  info: (msg: string) => console.error(`[info] ${msg}`),
  warn: (msg: string) => console.error(`[warn] ${msg}`),
  error: (msg: string) => console.error(`[error] ${msg}`),
}

async function main(): Promise<void> {
  const parsed = parseCliOptions(process.argv.slice(2))
  if (parsed.kind === 'help') {
    console.log(USAGE)
    return
  }
  if (parsed.kind === 'error') {
    console.error(`warren broker: ${parsed.message}`)
    console.error('Run with --help for the list of options.')
    process.exit(2)
  }
  const { port, host, heartbeat, httpPort, httpHost, tlsPort, https } = parsed.options
  const dataDir = parsed.options.dataDir === undefined ? undefined : resolve(parsed.options.dataDir)
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true })
  const memoryHighWatermark = parsed.options.memoryHighWatermark === undefined ? undefined : memoryWatermarkBytes(parsed.options.memoryHighWatermark, totalmem())

  let handle: BrokerHandle
  try {
    const tls: BrokerTlsOptions | undefined = parsed.options.tls ? readTlsFiles(parsed.options.tls) : undefined
    handle = await startBroker({ port, host, dataDir, heartbeat, logger, httpPort, httpHost, memoryHighWatermark, tls, tlsPort, https })
  } catch (e) {
    console.error(`warren broker: failed to start: ${e instanceof Error ? e.message : String(e)}`)
    process.exit(1)
  }

  // one write, so whoever reads the first line (scripts, tests) already has the rest
  const lines = [`Warren broker listening on ${amqpUrl(handle.host, handle.port)} (bound to ${handle.host}:${handle.port})`]
  if (handle.tlsPort !== undefined) lines.push(`AMQP over TLS on ${amqpsUrl(handle.host, handle.tlsPort)} (bound to ${handle.host}:${handle.tlsPort})`)
  if (handle.httpPort !== undefined && handle.httpHost !== undefined) {
    lines.push(`Management HTTP API on ${httpUrl(handle.httpHost, handle.httpPort, handle.https)} (bound to ${handle.httpHost}:${handle.httpPort})`)
  }
  lines.push(`Memory high watermark: ${handle.core.memory.highWatermark} bytes of message bodies`)
  lines.push(handle.dataDir === undefined ? 'Data: in memory (nothing is saved; pass --data DIR to keep it)' : `Data: ${handle.dataDir} (SQLite)`)
  lines.push('Press Ctrl+C (SIGINT) or send SIGTERM to stop.')
  console.log(lines.join('\n'))

  let closing = false
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) {
      console.error(`warren broker: ${signal} again, exiting without waiting for close`)
      process.exit(1)
    }
    closing = true
    console.log(`${signal} received, closing connections and flushing the store...`)
    handle.close().then(
      () => {
        console.log('Warren broker stopped.')
        process.exit(0)
      },
      (e: unknown) => {
        console.error(`warren broker: error while closing: ${e instanceof Error ? e.message : String(e)}`)
        process.exit(1)
      },
    )
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)
}

main().catch((e: unknown) => {
  console.error(`warren broker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  process.exit(1)
})
