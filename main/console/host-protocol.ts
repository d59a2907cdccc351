/**
 * The little protocol between the console (parent) and the broker host process (child, main/console/broker-host.ts).
 *
 * Child → parent: one JSON object per line on the child's stdout (anything else on stdout is ignored; stderr is
 * kept as diagnostics). Parent → child: closing the child's stdin asks it to shut down gracefully (works on every
 * OS, and also fires when the parent dies); SIGTERM/SIGINT do the same on POSIX.
 */

export type HostMessage =
  | { type: 'ready'; host: string; port: number; dataDir: string | null; pid: number; httpPort?: number; httpHost?: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'fatal'; message: string }
  | { type: 'closed' }

export function encodeHostMessage(message: HostMessage): string {
  return JSON.stringify(message) + '\n'
}

/** Parses one stdout line; returns undefined for anything that is not a well-formed host message. */
export function parseHostMessage(line: string): HostMessage | undefined {
  const trimmed = line.trim()
  if (!trimmed.startsWith('{')) return undefined
  let value: unknown
  try {
    value = JSON.parse(trimmed)
  } catch {
    return undefined
  }
  if (typeof value !== 'object' || value === null) return undefined
  const m = value as Record<string, unknown>
  switch (m.type) {
    case 'ready':
      if (typeof m.host === 'string' && Number.isInteger(m.port) && (typeof m.dataDir === 'string' || m.dataDir === null) && Number.isInteger(m.pid)) {
        const ready: HostMessage = { type: 'ready', host: m.host, port: m.port as number, dataDir: m.dataDir, pid: m.pid as number }
        if (Number.isInteger(m.httpPort)) ready.httpPort = m.httpPort as number
        if (typeof m.httpHost === 'string') ready.httpHost = m.httpHost
        return ready
      }
      return undefined
    case 'log':
      if ((m.level === 'info' || m.level === 'warn' || m.level === 'error') && typeof m.message === 'string') {
        return { type: 'log', level: m.level, message: m.message }
      }
      return undefined
    case 'fatal':
      return typeof m.message === 'string' ? { type: 'fatal', message: m.message } : undefined
    case 'closed':
      return { type: 'closed' }
    default:
      return undefined
  }
}

/** Splits a byte stream into lines; feed it chunks, it calls onLine for each complete line. */
export class LineSplitter {
  private buffer = ''
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    this.buffer += chunk
    let newline = this.buffer.indexOf('\n')
    while (newline >= 0) {
      const line = this.buffer.slice(0, newline)
      this.buffer = this.buffer.slice(newline + 1)
      this.onLine(line.endsWith('\r') ? line.slice(0, -1) : line)
      newline = this.buffer.indexOf('\n')
    }
  }
  /** Delivers what is left after the stream ended. */
  end(): void {
    if (this.buffer !== '') this.onLine(this.buffer)
    this.buffer = ''
  }
}

/** Takes `--http-port <n>` (the console's own option) out of argv; the rest is the broker CLI's. */
export function splitHttpPort(argv: string[]): { httpPort: number | undefined; rest: string[] } {
  const rest: string[] = []
  let httpPort: number | undefined
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--http-port' && i + 1 < argv.length && /^\d+$/.test(argv[i + 1]!)) {
      httpPort = Number(argv[++i])
    } else rest.push(argv[i]!)
  }
  return { httpPort, rest }
}
