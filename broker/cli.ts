/**
 * The headless broker: `npm run broker -- --port 5672 --data ./data`. See `--help` (broker/cli-options.ts).
 *
 * Exit status: 0 after a clean shutdown on SIGINT/SIGTERM, 1 if the broker fails to start or to close,
 * 2 for bad options.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { totalmem } from 'node:os'
import { resolve } from 'node:path'
import { startBroker, type BrokerHandle, type BrokerTlsOptions } from './index'
import { USAGE, amqpUrl, amqpsUrl, httpUrl, memoryWatermarkBytes, parseCliOptions } from './cli-options'
import { readTlsFiles } from './tls'
import { PairLock } from './ha/lock'
import { lockFile, pairDir } from './ha/members'
import { startPairMember, type PairMember } from './ha/pair'

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

  let tls: BrokerTlsOptions | undefined
  try {
    tls = parsed.options.tls ? readTlsFiles(parsed.options.tls) : undefined
  } catch (e) {
    console.error(`warren broker: failed to start: ${e instanceof Error ? e.message : String(e)}`)
    process.exit(1)
  }
  const brokerOptions = { port, host, heartbeat, httpPort, httpHost, memoryHighWatermark, tls, tlsPort, https }

  let stop: () => Promise<void>
  if (parsed.options.pair && dataDir !== undefined) {
    let member: PairMember
    try {
      member = await startPairMember({
        dataDir,
        node: parsed.options.node,
        broker: brokerOptions,
        logger,
        onActive: (handle, takeover) => console.log(`Pair member ${takeover.node} is ACTIVE.\n${listeningLines(handle)}`),
        onFatal: (e) => {
          console.error(`warren broker: failed to take over: ${e instanceof Error ? e.message : String(e)}`)
          process.exit(1)
        },
      })
    } catch (e) {
      console.error(`warren broker: failed to start: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    }
    if (member.role === 'standby') {
      const lines = [
        `Pair member ${member.node} is STANDBY on ${dataDir}: another member holds the storage lock.`,
        `AMQP is not listening; this member takes over ${host}:${port} when the active one dies.`,
      ]
      if (member.standbyHttpPort !== undefined) lines.push(`Management HTTP API (standby: /api/ha and health checks only) on ${httpUrl(httpHost ?? '127.0.0.1', member.standbyHttpPort, https)}`)
      lines.push('Press Ctrl+C (SIGINT) or send SIGTERM to stop.')
      console.log(lines.join('\n'))
    }
    stop = () => member.close()
  } else {
    // a data directory that belongs to a pair: a broker started without --pair must not write it behind the active
    // member's back, so it takes the pair's storage lock too (and is refused while a member holds it)
    if (dataDir !== undefined && existsSync(pairDir(dataDir))) {
      const lock = new PairLock(lockFile(dataDir))
      if (!lock.tryAcquire(`single broker, pid ${process.pid}`, 0)) {
        console.error(`warren broker: ${dataDir} belongs to an active/standby pair and a member holds its storage lock; start with --pair (and --node) to join the pair as standby`)
        process.exit(1)
      }
    }
    let handle: BrokerHandle
    try {
      handle = await startBroker({ ...brokerOptions, dataDir, logger })
    } catch (e) {
      console.error(`warren broker: failed to start: ${e instanceof Error ? e.message : String(e)}`)
      process.exit(1)
    }
    console.log(listeningLines(handle))
    stop = () => handle.close()
  }

  let closing = false
  const shutdown = (signal: NodeJS.Signals): void => {
    if (closing) {
      console.error(`warren broker: ${signal} again, exiting without waiting for close`)
      process.exit(1)
    }
    closing = true
    console.log(`${signal} received, closing connections and flushing the store...`)
    stop().then(
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

/** What a started broker prints, in one write, so whoever reads the first line (scripts, tests) already has the rest. */
function listeningLines(handle: BrokerHandle): string {
  const lines = [`Warren broker listening on ${amqpUrl(handle.host, handle.port)} (bound to ${handle.host}:${handle.port})`]
  if (handle.tlsPort !== undefined) lines.push(`AMQP over TLS on ${amqpsUrl(handle.host, handle.tlsPort)} (bound to ${handle.host}:${handle.tlsPort})`)
  if (handle.httpPort !== undefined && handle.httpHost !== undefined) {
    lines.push(`Management HTTP API on ${httpUrl(handle.httpHost, handle.httpPort, handle.https)} (bound to ${handle.httpHost}:${handle.httpPort})`)
  }
  lines.push(`Memory high watermark: ${handle.core.memory.highWatermark} bytes of message bodies`)
  lines.push(handle.dataDir === undefined ? 'Data: in memory (nothing is saved; pass --data DIR to keep it)' : `Data: ${handle.dataDir} (SQLite)`)
  lines.push('Press Ctrl+C (SIGINT) or send SIGTERM to stop.')
  return lines.join('\n')
}

main().catch((e: unknown) => {
  console.error(`warren broker: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  process.exit(1)
})
