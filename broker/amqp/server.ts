import { createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { createServer as createTlsServer, type TlsOptions } from 'node:tls'
import type { BrokerCore } from '../core/broker'
import { AmqpConnection, type ConnectionLimits, type Logger } from './connection'

/**
 * The AMQP listeners: plain TCP (amqp) and, when certificate files are given, TLS (amqps). Both hand their sockets to
 * the same connection handling; a TLS connection is simply an AmqpConnection over a TLSSocket, once the TLS
 * handshake is done. Keeps the set of live connections.
 */
export class AmqpServer {
  readonly connections = new Set<AmqpConnection>()
  private readonly servers: Server[] = []

  constructor(
    private readonly core: BrokerCore,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
  ) {}

  private accept(socket: Socket): void {
    const connection = new AmqpConnection(socket, {
      core: this.core,
      limits: this.limits,
      logger: this.logger,
      onClosed: (closed) => this.connections.delete(closed),
    })
    this.connections.add(connection)
  }

  /** Plain TCP (amqp://). */
  listen(port: number, host: string): Promise<AddressInfo> {
    return this.start(
      createServer((socket) => this.accept(socket)),
      port,
      host,
    )
  }

  /**
   * TLS (amqps://, RabbitMQ's port 5671). A client that fails the handshake (wrong CA on its side, a plain AMQP
   * header, no client certificate when one is required) is dropped and logged; it never reaches AMQP.
   */
  listenTls(port: number, host: string, options: TlsOptions): Promise<AddressInfo> {
    const server = createTlsServer(options, (socket) => this.accept(socket))
    server.on('tlsClientError', (error, socket) => {
      this.logger.warn(`TLS handshake with ${socket.remoteAddress}:${socket.remotePort} failed: ${error.message}`)
      socket.destroy()
    })
    return this.start(server, port, host)
  }

  private start(server: Server, port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => {
        server.off('error', reject)
        this.servers.push(server)
        resolve(server.address() as AddressInfo)
      })
    })
  }

  /** Stops accepting, then closes every client with connection.close 320 CONNECTION_FORCED. */
  async close(reason: string): Promise<void> {
    const stopped = this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve())))
    await Promise.all([...this.connections].map((connection) => connection.forceClose(reason)))
    await Promise.all(stopped)
  }
}
