// The conformance harness: each scenario is a function of a TestBed (an amqplib connection URL plus a way to set
// policies) that returns an observation; the suite runs it against a real RabbitMQ 3.10 and against Warren and
// compares the two observations after normalising what legitimately differs (times, generated names, the random
// suffix of resource names).
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type GetMessage, type Message, type Options } from 'amqplib'
import { randomBytes } from 'node:crypto'

export type Observation = unknown

export interface PolicySpec {
  pattern: string
  definition: Record<string, unknown>
  applyTo?: 'queues' | 'exchanges' | 'all'
  priority?: number
}

/** How a bed sets and clears policies (RabbitMQ: management HTTP API; Warren: BrokerCore). */
export interface PolicyDriver {
  set(name: string, spec: PolicySpec): Promise<void>
  clear(name: string): Promise<void>
}

export interface Scenario {
  name: string
  run(t: TestBed): Promise<Observation>
}

interface ErrorLike extends Error {
  code?: number
}

/** What a server-closed channel or connection reported: reply code and text. */
export interface Closed {
  code: number | undefined
  message: string
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

export function describeError(error: unknown): Closed {
  const e = error as ErrorLike
  return { code: e?.code, message: String(e?.message ?? e) }
}

/** One scenario's view of one broker: unique names, tracked connections, observation helpers. */
export class TestBed {
  readonly suffix = randomBytes(5).toString('hex')
  private readonly connections: ChannelModel[] = []
  private readonly policyNames: string[] = []

  constructor(
    readonly url: string,
    private readonly policies: PolicyDriver,
    readonly scenario: string,
  ) {}

  /** A name unique to this scenario and run; the suffix is normalised away when comparing. */
  n(base: string): string {
    return `conf.${this.scenario}.${base}.${this.suffix}`
  }

  async connect(): Promise<ChannelModel> {
    const connection = await amqp.connect(this.url)
    connection.on('error', () => {})
    this.connections.push(connection)
    return connection
  }

  async channel(connection?: ChannelModel): Promise<Channel> {
    const channel = await (connection ?? (await this.connect())).createChannel()
    channel.on('error', () => {})
    return channel
  }

  async confirmChannel(connection?: ChannelModel): Promise<ConfirmChannel> {
    const channel = await (connection ?? (await this.connect())).createConfirmChannel()
    channel.on('error', () => {})
    return channel
  }

  /** Runs an operation; its result, or the channel/connection error it ended with. */
  async attempt<T>(operation: () => Promise<T>): Promise<{ ok: T } | { error: Closed }> {
    try {
      return { ok: await operation() }
    } catch (error) {
      return { error: describeError(error) }
    }
  }

  /** Resolves with the server's close of a channel (or undefined when none came within the time). */
  closeOf(channel: Channel | ChannelModel, timeoutMs = 2000): Promise<Closed | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), timeoutMs)
      channel.once('error', (error: unknown) => {
        clearTimeout(timer)
        resolve(describeError(error))
      })
    })
  }

  async setPolicy(name: string, spec: PolicySpec): Promise<void> {
    const full = this.n(name)
    this.policyNames.push(full)
    await this.policies.set(full, spec)
  }

  async clearPolicy(name: string): Promise<void> {
    await this.policies.clear(this.n(name))
  }

  /** A regular expression matching exactly the name this bed gives `base`. */
  exact(base: string): string {
    return `^${this.n(base).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`
  }

  /** A regular expression matching exactly the names this bed gives any of `bases`. */
  exactAny(...bases: string[]): string {
    return `^(${bases.map((base) => this.exact(base).slice(1, -1)).join('|')})$`
  }

  sleep(ms: number): Promise<void> {
    return sleep(ms)
  }

  /** Publishes on a confirm channel and returns each message's outcome, in order. */
  async publishConfirmed(channel: ConfirmChannel, items: { exchange?: string; routingKey: string; body: string; options?: Options.Publish }[]): Promise<string[]> {
    const outcomes = items.map(
      (item) =>
        new Promise<string>((resolve) => {
          channel.publish(item.exchange ?? '', item.routingKey, Buffer.from(item.body), item.options ?? {}, (error) => resolve(error ? 'nack' : 'ack'))
        }),
    )
    return Promise.all(outcomes)
  }

  /** basic.get until empty (at most `max`), acking each unless noAck. */
  async drain(channel: Channel, queue: string, options: { noAck?: boolean; max?: number } = {}): Promise<Observation[]> {
    const out: Observation[] = []
    for (let i = 0; i < (options.max ?? 100); i++) {
      const message = await channel.get(queue, { noAck: options.noAck ?? true })
      if (!message) break
      out.push(observeGet(message))
    }
    return out
  }

  /** Consumes until `count` messages arrived or `timeoutMs` passed; returns them in arrival order. */
  async consume(channel: Channel, queue: string, count: number, options: Options.Consume & { timeoutMs?: number; ack?: boolean } = {}): Promise<Observation[]> {
    return (await this.startConsuming(channel, queue, count, options)).messages
  }

  /**
   * Registers a consumer (resolves once consume-ok arrived, so later publishes find it) and gives the promise of
   * the first `count` messages (or what came within `timeoutMs`).
   */
  async startConsuming(channel: Channel, queue: string, count: number, options: Options.Consume & { timeoutMs?: number; ack?: boolean } = {}): Promise<{ messages: Promise<Observation[]> }> {
    const out: Observation[] = []
    let done: () => void = () => {}
    const finished = new Promise<void>((resolve) => (done = resolve))
    const { consumerTag } = await channel.consume(
      queue,
      (message) => {
        if (!message) return
        out.push(observe(message))
        if (options.ack && !options.noAck) channel.ack(message)
        if (out.length >= count) done()
      },
      { noAck: options.noAck ?? true, ...options },
    )
    const messages = (async () => {
      const timer = setTimeout(() => done(), options.timeoutMs ?? 1000)
      await finished
      clearTimeout(timer)
      await channel.cancel(consumerTag).catch(() => {})
      return out
    })()
    return { messages }
  }

  async close(): Promise<void> {
    for (const name of this.policyNames) await this.policies.clear(name).catch(() => {})
    for (const connection of this.connections) await connection.close().catch(() => {})
  }
}

/** The parts of a delivered message a client sees: body, routing fields, set properties, headers. */
export function observe(message: Message): Record<string, unknown> {
  const properties: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(message.properties)) if (value !== undefined) properties[key] = value
  return {
    body: message.content.toString(),
    exchange: message.fields.exchange,
    routingKey: message.fields.routingKey,
    redelivered: message.fields.redelivered,
    properties,
  }
}

export function observeGet(message: GetMessage): Record<string, unknown> {
  return { ...observe(message), messageCount: message.fields.messageCount }
}

/**
 * Replaces what differs between two correct runs: the bed's name suffix, server-generated queue names and consumer
 * tags, timestamps inside x-death, and the Erlang/JS difference in how a server-generated name is shown.
 */
export function normalise(value: unknown, suffix: string): unknown {
  if (typeof value === 'string') {
    return value
      .split(suffix)
      .join('<S>')
      .replace(/amq\.gen-[A-Za-z0-9_-]+/g, 'amq.gen-*')
      .replace(/amq\.ctag-[A-Za-z0-9_-]+/g, 'amq.ctag-*')
  }
  if (Array.isArray(value)) return value.map((item) => normalise(item, suffix))
  if (Buffer.isBuffer(value)) return value.toString('base64')
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>
    if (record['!'] === 'timestamp') return '<timestamp>'
    const out: Record<string, unknown> = {}
    for (const [key, item] of Object.entries(record)) {
      if (item === undefined) continue
      out[key] = key === 'time' && (typeof item === 'number' || (item && typeof item === 'object')) ? '<time>' : normalise(item, suffix)
    }
    return out
  }
  return value
}
