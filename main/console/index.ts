/**
 * The console backend: serves the contract in main/contract. No Electron here — the desktop shell (main/shell)
 * passes in paths and forwards events; a future HTTP server would do the same.
 */
import { join } from 'node:path'
import type { BrokerStatus, CommandHandlers, EventName, WarrenEvents } from '../contract'
import { EmbeddedBroker, resolveNodePath } from './embedded-broker'

export { EmbeddedBroker, resolveNodePath } from './embedded-broker'

export interface ConsoleOptions {
  /** where the console keeps its files (Electron's userData); the broker's store goes in `<dir>/broker` */
  userDataDir: string
  /** absolute path of the built broker host script */
  hostScript: string
  /** AMQP port of the embedded broker; default $WARREN_AMQP_PORT or 5672 */
  port?: number
  /** default 127.0.0.1: the desktop app's broker is for this machine unless asked otherwise ($WARREN_AMQP_HOST) */
  host?: string
  env?: NodeJS.ProcessEnv
  emit: <E extends EventName>(event: E, payload: WarrenEvents[E]) => void
  log?: (level: 'info' | 'warn' | 'error', message: string) => void
}

export interface ConsoleBackend {
  readonly handlers: CommandHandlers
  readonly broker: EmbeddedBroker
  /** starts the embedded broker; resolves once it runs or has failed (never rejects) */
  start(): Promise<BrokerStatus>
  stop(): Promise<void>
}

function portFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.WARREN_AMQP_PORT
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined
  const n = Number(raw)
  return n <= 65535 ? n : undefined
}

export function createConsoleBackend(options: ConsoleOptions): ConsoleBackend {
  const env = options.env ?? process.env
  const broker = new EmbeddedBroker({
    nodePath: resolveNodePath(env),
    hostScript: options.hostScript,
    port: options.port ?? portFromEnv(env) ?? 5672,
    host: options.host ?? env.WARREN_AMQP_HOST ?? '127.0.0.1',
    dataDir: join(options.userDataDir, 'broker'),
    env,
    onLog: options.log,
  })
  broker.onStatusChange((status) => options.emit('broker.statusChanged', status))

  const handlers: CommandHandlers = {
    'broker.status': () => broker.status(),
  }

  return {
    handlers,
    broker,
    start: () => broker.start(),
    stop: () => broker.stop(),
  }
}
