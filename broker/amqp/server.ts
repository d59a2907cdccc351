import { createServer, type AddressInfo, type Server } from 'node:net'
import type { BrokerCore } from '../core/broker'
import { AmqpConnection, type ConnectionLimits, type Logger } from './connection'

/** The AMQP listener: accepts sockets and keeps the set of live connections. */
export class AmqpServer {
  readonly connections = new Set<AmqpConnection>()
  private readonly server: Server

  constructor(
    private readonly core: BrokerCore,
    private readonly limits: ConnectionLimits,
    private readonly logger: Logger,
  ) {
    this.server = createServer((socket) => {
      const connection = new AmqpConnection(socket, {
        core: this.core,
        limits: this.limits,
        logger: this.logger,
        onClosed: (closed) => this.connections.delete(closed),
      })
      this.connections.add(connection)
    })
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(port, host, () => {
        this.server.off('error', reject)
        resolve(this.server.address() as AddressInfo)
      })
    })
  }

  /** Stops accepting, then closes every client with connection.close 320 CONNECTION_FORCED. */
  async close(reason: string): Promise<void> {
    const stopped = new Promise<void>((resolve) => this.server.close(() => resolve()))
    await Promise.all([...this.connections].map((connection) => connection.forceClose(reason)))
    await stopped
  }
}
