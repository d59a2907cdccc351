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
  /** --memory-high-watermark: bytes, or a fraction of the machine's RAM; undefined = the broker's default */
  memoryHighWatermark?: MemoryWatermark
  /** --tls-cert/--tls-key/--tls-ca: the user's certificate files; given, AMQP over TLS listens on tlsPort */
  tls?: { certFile: string; keyFile: string; caFile?: string; verifyPeer?: boolean }
  /** --tls-port; undefined = 5671 when tls is given */
  tlsPort?: number
  /** --https: the HTTP API over TLS with the same certificate */
  https?: boolean
  /** --pair: be one member of an active/standby pair on the shared --data directory (broker/ha/) */
  pair?: boolean
  /** --node: this member's name in the pair; undefined = warren-<port>@<hostname> */
  node?: string
}

export type MemoryWatermark = { absolute: number } | { relative: number }

export type CliParseResult =
  | { kind: 'run'; options: CliOptions }
  | { kind: 'help' }
  | { kind: 'error'; message: string }

export const DEFAULT_PORT = 5672
export const DEFAULT_HOST = '0.0.0.0'
export const DEFAULT_HTTP_HOST = '127.0.0.1'
export const DEFAULT_TLS_PORT = 5671

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
  --memory-high-watermark <bytes|fraction>
                    block publishers once message bodies held reach this: a size in bytes
                    (units k/KiB, M/MiB, G/GiB, kB, MB, GB, e.g. 512MiB) or a fraction of RAM
                    with a decimal point (e.g. 0.4; default 0.4 of RAM, at most 2 GiB)
  --tls-cert <file> the server certificate (PEM); with --tls-key, also listen for AMQP over TLS
  --tls-key <file>  the certificate's private key (PEM, unencrypted)
  --tls-ca <file>   CA certificates (PEM) sent with the chain and trusted for client certificates
  --tls-port <n>    port of AMQP over TLS (amqps; default ${DEFAULT_TLS_PORT})
  --tls-verify-peer require clients to present a certificate signed by --tls-ca
  --https           serve the management HTTP API over HTTPS with the same certificate
  --pair            one member of an active/standby pair sharing --data (start both members the
                    same way): whoever holds the storage lock in DIR/pair/ is active, the other
                    waits as standby without AMQP listeners and takes over when the active dies
  --node <name>     this member's name in the pair (default warren-<port>@<hostname>; two
                    members on one machine with the same --port need different names)
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
        'memory-high-watermark': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'tls-port': { type: 'string' },
        'tls-verify-peer': { type: 'boolean' },
        https: { type: 'boolean' },
        pair: { type: 'boolean' },
        node: { type: 'string' },
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
  if (values['memory-high-watermark'] !== undefined) {
    const watermark = parseMemoryWatermark(values['memory-high-watermark'])
    if (typeof watermark === 'string') return { kind: 'error', message: watermark }
    options.memoryHighWatermark = watermark
  }
  const cert = values['tls-cert']
  const key = values['tls-key']
  if (cert !== undefined || key !== undefined) {
    if (cert === undefined || cert.trim() === '') return { kind: 'error', message: '--tls-key needs --tls-cert (the certificate file)' }
    if (key === undefined || key.trim() === '') return { kind: 'error', message: '--tls-cert needs --tls-key (the private key file)' }
    options.tls = { certFile: cert, keyFile: key }
    if (values['tls-ca'] !== undefined) options.tls.caFile = values['tls-ca']
    if (values['tls-verify-peer']) {
      if (values['tls-ca'] === undefined) return { kind: 'error', message: '--tls-verify-peer needs --tls-ca (the CA client certificates must be signed by)' }
      options.tls.verifyPeer = true
    }
  } else {
    for (const name of ['tls-ca', 'tls-port', 'tls-verify-peer', 'https'] as const) {
      if (values[name] !== undefined) return { kind: 'error', message: `--${name} needs --tls-cert and --tls-key` }
    }
  }
  if (values['tls-port'] !== undefined) {
    const p = parseInteger('tls-port', values['tls-port'], 0, 65535)
    if (typeof p === 'string') return { kind: 'error', message: p }
    options.tlsPort = p
  }
  if (values.https) {
    if (options.httpPort === undefined) return { kind: 'error', message: '--https needs --http-port' }
    options.https = true
  }
  if (values.pair) {
    if (dataDir === undefined) return { kind: 'error', message: '--pair needs --data (the directory both members share)' }
    options.pair = true
  }
  if (values.node !== undefined) {
    if (!options.pair) return { kind: 'error', message: '--node needs --pair' }
    const node = values.node.trim()
    if (node === '' || node.length > 255 || /[\u0000-\u001f\u007f/\\]/.test(node)) {
      return { kind: 'error', message: `--node must be 1 to 255 characters without control characters, '/' or '\\', got "${values.node}"` }
    }
    options.node = node
  }
  return { kind: 'run', options }
}

const UNITS: Record<string, number> = {
  '': 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
}

/**
 * RabbitMQ's two forms of vm_memory_high_watermark: a fraction of RAM (relative, written with a decimal point:
 * "0.4", "1.0") or an absolute size ("1073741824", "512MiB", "2GB"; RabbitMQ's units).
 */
export function parseMemoryWatermark(raw: string): MemoryWatermark | string {
  const text = raw.trim()
  if (/^\d*\.\d+$/.test(text) || /^\d+\.$/.test(text)) {
    const fraction = Number(text)
    if (!(fraction > 0 && fraction <= 1)) return `--memory-high-watermark as a fraction of RAM must be above 0 and at most 1.0, got ${text}`
    return { relative: fraction }
  }
  const match = /^(\d+)\s*([a-zA-Z]*)$/.exec(text)
  const unit = match && Object.hasOwn(UNITS, match[2].toLowerCase()) ? UNITS[match[2].toLowerCase()] : undefined
  if (!match || unit === undefined) {
    return `--memory-high-watermark must be a size in bytes (units: k, KiB, M, MiB, G, GiB, kB, MB, GB) or a fraction of RAM such as 0.4, got "${raw}"`
  }
  const bytes = Number(match[1]) * unit
  if (bytes < 1) return '--memory-high-watermark must be at least 1 byte'
  return { absolute: bytes }
}

/** The watermark in bytes on a machine with this much RAM. */
export function memoryWatermarkBytes(watermark: MemoryWatermark, totalMemory: number): number {
  return 'absolute' in watermark ? watermark.absolute : Math.floor(watermark.relative * totalMemory)
}

/** The address a client on this machine should use: a wildcard bind is reached through loopback. */
export function clientHost(boundHost: string): string {
  if (boundHost === '0.0.0.0' || boundHost === '::' || boundHost === '') return '127.0.0.1'
  return boundHost.includes(':') ? `[${boundHost}]` : boundHost
}

export function amqpUrl(boundHost: string, port: number): string {
  return `amqp://${clientHost(boundHost)}:${port}`
}

export function httpUrl(boundHost: string, port: number, https = false): string {
  return `${https ? 'https' : 'http'}://${clientHost(boundHost)}:${port}/api/`
}

export function amqpsUrl(boundHost: string, port: number): string {
  return `amqps://${clientHost(boundHost)}:${port}`
}
