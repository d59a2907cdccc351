/**
 * The console backend: serves the contract in main/contract. No Electron here — the desktop shell (main/shell)
 * passes in paths and forwards events; a future HTTP server would do the same.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { BrokerStatus, CommandHandlers, EventName, WarrenEvents } from '../contract'
import { EmbeddedBroker, findFreePort, resolveNodePath } from './embedded-broker'
import { ProfileStore, type SqlDatabase } from './profiles'
import { AesGcmSecretBox, type SecretBox } from './secrets'
import { createConsoleService, type ConsoleService } from './service'

export { EmbeddedBroker, findFreePort, resolveNodePath } from './embedded-broker'

export interface ConsoleOptions {
  /** where the console keeps its files (Electron's userData); the broker's store goes in `<dir>/broker` */
  userDataDir: string
  /** absolute path of the built broker host script */
  hostScript: string
  /** AMQP port of the embedded broker; default $WARREN_AMQP_PORT or 5672 */
  port?: number
  /** default 127.0.0.1: the desktop app's broker is for this machine unless asked otherwise ($WARREN_AMQP_HOST) */
  host?: string
  /** port of the broker's management HTTP API; default: 15672 or the next free one */
  httpPort?: number
  /** how profile passwords are sealed (the desktop passes Electron safeStorage); default AES-256-GCM with a key file */
  secrets?: SecretBox
  /** opens the console's database (the desktop app passes node:sqlite); default better-sqlite3 */
  openDatabase?: (path: string) => SqlDatabase
  env?: NodeJS.ProcessEnv
  emit: <E extends EventName>(event: E, payload: WarrenEvents[E]) => void
  log?: (level: 'info' | 'warn' | 'error', message: string) => void
}

export interface ConsoleBackend {
  readonly handlers: CommandHandlers
  readonly broker: EmbeddedBroker
  readonly service: ConsoleService
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
  const secrets = options.secrets ?? AesGcmSecretBox.fromKeyFile(join(options.userDataDir, 'console', 'secret.key'))
  const dbPath = join(options.userDataDir, 'console', 'console.db')
  if (options.openDatabase) mkdirSync(join(options.userDataDir, 'console'), { recursive: true })
  const profiles = new ProfileStore(options.openDatabase ? options.openDatabase(dbPath) : dbPath, secrets, { amqpUrl: '', managementUrl: '' })
  const service = createConsoleService({ profiles, emit: options.emit, log: options.log })
  const broker = new EmbeddedBroker({
    nodePath: resolveNodePath(env),
    hostScript: options.hostScript,
    port: options.port ?? portFromEnv(env) ?? 5672,
    host: options.host ?? env.WARREN_AMQP_HOST ?? '127.0.0.1',
    dataDir: join(options.userDataDir, 'broker'),
    env,
    onLog: options.log,
  })
  broker.onStatusChange((status) => {
    if (status.state === 'running' && status.amqpUrl && status.httpUrl) {
      profiles.setEmbeddedEndpoints({ amqpUrl: status.amqpUrl, managementUrl: status.httpUrl })
    }
    options.emit('broker.statusChanged', status)
  })

  const handlers: CommandHandlers = {
    ...service.handlers,
    'broker.status': () => broker.status(),
  }

  return {
    handlers,
    broker,
    service,
    async start() {
      const httpPort = options.httpPort ?? (await findFreePort(15672, options.host ?? '127.0.0.1').catch(() => 0))
      broker.setHttpPort(httpPort || undefined)
      const status = await broker.start()
      service.startTicks()
      return status
    },
    async stop() {
      service.stopTicks()
      await broker.stop()
      await service.close()
    },
  }
}
