/**
 * The scheduled area's own AMQP connections (amqplib), one per vhost of the active profile, opened on first use and
 * closed when the profile changes or the console shuts down. Each operation takes a confirm channel of its own.
 */
import amqp from 'amqplib'
import { amqpConnectUrl, amqpError, type ManagementTarget } from '../management-backend'

export class AmqpLink {
  private readonly connections = new Map<string, Promise<amqp.ChannelModel>>()

  constructor(private readonly target: () => ManagementTarget) {}

  private connection(vhost: string): Promise<amqp.ChannelModel> {
    let c = this.connections.get(vhost)
    if (!c) {
      c = amqp.connect(amqpConnectUrl(this.target(), vhost), { timeout: 10_000, clientProperties: { connection_name: 'Warren console (scheduled)' } }).then((conn) => {
        conn.on('error', () => {})
        conn.on('close', () => {
          if (this.connections.get(vhost) === c) this.connections.delete(vhost)
        })
        return conn
      })
      c.catch(() => this.connections.delete(vhost))
      this.connections.set(vhost, c)
    }
    return c
  }

  /** Runs `fn` on a fresh confirm channel, closed afterwards (its unacked messages go back to their queues). */
  async withChannel<T>(vhost: string, fn: (ch: amqp.ConfirmChannel) => Promise<T>): Promise<T> {
    let channelError: unknown
    let ch: amqp.ConfirmChannel | undefined
    try {
      const conn = await this.connection(vhost)
      ch = await conn.createConfirmChannel()
      ch.on('error', (e) => (channelError = e))
      return await fn(ch)
    } catch (e) {
      throw amqpError(channelError ?? e)
    } finally {
      await ch?.close().catch(() => {})
    }
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()]
    this.connections.clear()
    await Promise.all(all.map((c) => c.then((conn) => conn.close()).catch(() => {})))
  }
}
