import { totalmem } from 'node:os'
import type { AddressInfo } from 'node:net'
import type { TlsOptions } from 'node:tls'
import { AmqpServer } from './amqp/server'
import type { Logger } from './amqp/connection'
import { BrokerCore } from './core/broker'
import type { PagingOptions } from './core/paging'
import { watchStoreWrites } from './core/memory'
import { ManagementApi, type HttpHandler } from './http/server'
import { createMemoryStore, openSqliteStore } from './store'

export type { Logger } from './amqp/connection'
export { BrokerCore } from './core/broker'
export type { HttpHandler } from './http/server'

export interface BrokerOptions {
  /** AMQP port; 0 picks a free one. Default 5672. */
  port?: number
  /** Default '0.0.0.0', as RabbitMQ listens on all interfaces. */
  host?: string
  /** Where the SQLite database lives; omitted, everything is kept in memory and lost on close. */
  dataDir?: string
  /** Heartbeat interval in seconds proposed to clients. Default 60 (RabbitMQ). */
  heartbeat?: number
  /** Default 131072 (RabbitMQ). */
  frameMax?: number
  /** Default 2047 (RabbitMQ). */
  channelMax?: number
  /** Bytes of message bodies held before publishers are blocked. Default 40% of RAM, at most 2 GiB. */
  memoryHighWatermark?: number
  logger?: Logger
  /** Port of the management HTTP API (RabbitMQ-compatible, see docs/http-api.md); 0 picks a free one. Omitted: no HTTP API. */
  httpPort?: number
  /** Address the HTTP API binds. Default '127.0.0.1': loopback only, unlike AMQP. */
  httpHost?: string
  /** Other handlers served from the HTTP API's port (the web console), tried before the API's 404. */
  httpHandlers?: HttpHandler[]
  /** How often the HTTP API samples counters for its rates, in ms. Default 5000 (RabbitMQ's interval). */
  statsIntervalMs?: number
  /** Each queue's in-memory window of ready messages; beyond it persistent messages are paged to the store. */
  paging?: PagingOptions
  /**
   * The server's certificate and key (PEM contents, e.g. from readTlsFiles in broker/tls.ts), and the CA chain.
   * Given: AMQP over TLS (amqps) on tlsPort as well as plain AMQP on port, and HTTPS for the API when https is set.
   */
  tls?: BrokerTlsOptions
  /** The amqps port. Default 5671 (RabbitMQ's) when tls is given; 0 picks a free one. */
  tlsPort?: number
  /** Serve the management API over HTTPS with the tls certificate (needs tls and httpPort). */
  https?: boolean
  /** Host names a loopback-only HTTP API answers to besides localhost and IP literals (DNS-rebinding guard). */
  httpAllowedHosts?: string[]
}

export interface BrokerTlsOptions {
  cert: string | Buffer
  key: string | Buffer
  /** CA certificates: sent with the chain, and the roots client certificates must chain to when verifyPeer is set */
  ca?: string | Buffer
  /** Ask clients for a certificate signed by ca and refuse those without one (RabbitMQ's verify_peer + fail_if_no_peer_cert). */
  verifyPeer?: boolean
}

/** RabbitMQ's amqps port. */
export const DEFAULT_TLS_PORT = 5671

function tlsServerOptions(tls: BrokerTlsOptions): TlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
    minVersion: 'TLSv1.2',
    requestCert: tls.verifyPeer === true,
    rejectUnauthorized: tls.verifyPeer === true,
  }
}

export interface BrokerHandle {
  readonly port: number
  readonly host: string
  readonly dataDir: string | undefined
  readonly core: BrokerCore
  /** the management HTTP API's port, when httpPort was given */
  readonly httpPort: number | undefined
  readonly httpHost: string | undefined
  /** the amqps port, when tls was given */
  readonly tlsPort: number | undefined
  /** whether the HTTP API speaks HTTPS */
  readonly https: boolean
  /** Closes client connections with connection.close 320, then flushes and closes storage. */
  close(): Promise<void>
}

const silentLogger: Logger = { info() {}, warn() {}, error() {} }

/** Starts the embedded broker: recovers durable state, then listens for AMQP clients. */
export async function startBroker(options: BrokerOptions = {}): Promise<BrokerHandle> {
  const logger = options.logger ?? silentLogger
  if (options.https && !options.tls) throw new Error('https needs tls (a certificate and a key)')
  if (options.https && options.httpPort === undefined) throw new Error('https needs httpPort')
  const store = options.dataDir ? openSqliteStore({ directory: options.dataDir }) : createMemoryStore()
  const core = new BrokerCore({
    store,
    memoryHighWatermark: options.memoryHighWatermark ?? Math.min(0.4 * totalmem(), 2 * 1024 ** 3),
    paging: options.paging,
  })
  watchStoreWrites(store, core.memory, logger)
  const server = new AmqpServer(core, { channelMax: options.channelMax ?? 2047, frameMax: options.frameMax ?? 131072, heartbeat: options.heartbeat ?? 60 }, logger)
  let address
  let tlsAddress: AddressInfo | undefined
  try {
    address = await server.listen(options.port ?? 5672, options.host ?? '0.0.0.0')
    if (options.tls) tlsAddress = await server.listenTls(options.tlsPort ?? DEFAULT_TLS_PORT, options.host ?? '0.0.0.0', tlsServerOptions(options.tls))
  } catch (error) {
    await server.close('broker shutdown')
    await store.close()
    throw error
  }
  let http: ManagementApi | undefined
  let httpAddress
  if (options.httpPort !== undefined) {
    http = new ManagementApi({
      core,
      connections: () => server.connections,
      handlers: options.httpHandlers,
      statsIntervalMs: options.statsIntervalMs,
      amqpListener: { port: address.port, host: address.address },
      logger,
      tls: options.https && options.tls ? tlsServerOptions({ ...options.tls, verifyPeer: false }) : undefined,
      allowedHosts: options.httpAllowedHosts,
    })
    try {
      httpAddress = await http.listen(options.httpPort, options.httpHost ?? '127.0.0.1')
    } catch (error) {
      await server.close('broker shutdown')
      await store.close()
      throw error
    }
  }
  // dynamic shovels start once the broker takes connections (their amqp:// URIs connect to this listener)
  core.shovels.start({ host: address.address, port: address.port })
  let closing: Promise<void> | undefined
  return {
    port: address.port,
    host: address.address,
    dataDir: options.dataDir,
    core,
    httpPort: httpAddress?.port,
    httpHost: httpAddress?.address,
    tlsPort: tlsAddress?.port,
    https: options.https === true && http !== undefined,
    close() {
      closing ??= (async () => {
        await core.shovels.stop()
        await http?.close()
        await server.close('broker shutdown')
        core.delayed.stop()
        core.stopLifecycleTimers()
        core.persistDeliveryState()
        await store.close()
      })()
      return closing
    },
  }
}
