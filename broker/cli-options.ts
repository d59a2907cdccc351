/**
 * Command-line options of the headless broker (`npm run broker -- ...`), parsed by a pure function so that
 * both broker/cli.ts and the desktop app's broker host (main/console/broker-host.ts) share one parser and
 * one set of rules, and so the rules are unit-tested without starting anything.
 */
import { parseArgs } from 'node:util'

export interface CliOptions {
  /** 0 = let the OS pick a free port */
  port: number
  host: string
  /** undefined = in-memory store, nothing is saved */
  dataDir: string | undefined
  /** heartbeat the broker proposes, in seconds; undefined = the broker's default */
  heartbeat: number | undefined
  /** port of the management HTTP API; undefined = no HTTP API */
  httpPort?: number
  /** address the HTTP API binds (--bind); undefined = the broker's default, loopback */
  httpHost?: string
}

export type CliParseResult =
  | { kind: 'run'; options: CliOptions }
  | { kind: 'help' }
  | { kind: 'error'; message: string }

export const DEFAULT_PORT = 5672
export const DEFAULT_HOST = '0.0.0.0'
export const DEFAULT_HTTP_HOST = '127.0.0.1'

export const USAGE = `Usage: npm run broker -- [options]
       tsx broker/cli.ts [options]

Starts Warren's AMQP 0-9-1 broker without the desktop app.

Options:
  --port <n>        TCP port to listen on (default ${DEFAULT_PORT}; 0 picks a free port and prints it)
  --host <addr>     address to bind (default ${DEFAULT_HOST})
  --data <dir>      directory for the SQLite store (created if missing);
                    omitted: an in-memory store, nothing survives a restart
  --heartbeat <s>   heartbeat interval in seconds the broker proposes (0 disables)
  --http-port <n>   serve the RabbitMQ-compatible management HTTP API on this port
                    (RabbitMQ uses 15672; 0 picks a free port; omitted: no HTTP API)
  --bind <addr>     address the HTTP API binds (default ${DEFAULT_HTTP_HOST}, loopback only)
  -h, --help        show this help

SIGINT or SIGTERM closes client connections (connection.close 320 CONNECTION_FORCED),
flushes the store and exits with status 0.`

function parseInteger(name: string, raw: string, min: number, max: number): number | string {
  if (!/^\d+$/.test(raw.trim())) return `--${name} must be a whole number, got "${raw}"`
  const value = Number(raw.trim())
  if (value < min || value > max) return `--${name} must be between ${min} and ${max}, got ${value}`
  return value
}

export function parseCliOptions(argv: readonly string[]): CliParseResult {
  let parsed
  try {
    parsed = parseArgs({
      args: [...argv],
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        data: { type: 'string' },
        heartbeat: { type: 'string' },
        'http-port': { type: 'string' },
        bind: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    })
  } catch (e) {
    return { kind: 'error', message: e instanceof Error ? e.message : String(e) }
  }
  const { values } = parsed
  if (values.help) return { kind: 'help' }

  let port = DEFAULT_PORT
  if (values.port !== undefined) {
    const p = parseInteger('port', values.port, 0, 65535)
    if (typeof p === 'string') return { kind: 'error', message: p }
    port = p
  }

  let heartbeat: number | undefined
  if (values.heartbeat !== undefined) {
    const h = parseInteger('heartbeat', values.heartbeat, 0, 65535)
    if (typeof h === 'string') return { kind: 'error', message: h }
    heartbeat = h
  }

  const host = values.host ?? DEFAULT_HOST
  if (host.trim() === '') return { kind: 'error', message: '--host must not be empty' }

  let dataDir: string | undefined
  if (values.data !== undefined) {
    if (values.data.trim() === '') return { kind: 'error', message: '--data must not be empty (omit it for an in-memory store)' }
    dataDir = values.data
  }

  const options: CliOptions = { port, host: host.trim(), dataDir, heartbeat }
  if (values['http-port'] !== undefined) {
    const p = parseInteger('http-port', values['http-port'], 0, 65535)
    if (typeof p === 'string') return { kind: 'error', message: p }
    options.httpPort = p
  }
  if (values.bind !== undefined) {
    if (values.bind.trim() === '') return { kind: 'error', message: '--bind must not be empty' }
    if (options.httpPort === undefined) return { kind: 'error', message: '--bind needs --http-port (it is the HTTP API\'s address)' }
    options.httpHost = values.bind.trim()
  }
  return { kind: 'run', options }
}

/** The address a client on this machine should use: a wildcard bind is reached through loopback. */
export function clientHost(boundHost: string): string {
  if (boundHost === '0.0.0.0' || boundHost === '::' || boundHost === '') return '127.0.0.1'
  return boundHost.includes(':') ? `[${boundHost}]` : boundHost
}

export function amqpUrl(boundHost: string, port: number): string {
  return `amqp://${clientHost(boundHost)}:${port}`
}

export function httpUrl(boundHost: string, port: number): string {
  return `http://${clientHost(boundHost)}:${port}/api/`
}
