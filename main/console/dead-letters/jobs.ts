/**
 * The replay/delete job engine: AMQP consume (manual ack) + confirmed publish + ack, on the embedded broker and
 * on RabbitMQ alike.
 *
 * Never losing a message: a dead letter is acked (leaves its queue) only after the broker confirmed its republish
 * (publisher confirms, `mandatory`: a returned — unroutable — or nacked publish leaves the message where it was).
 * If the broker dies or the connection drops mid-job, every unacked delivery goes back to the dead-letter queue;
 * a message whose confirm arrived but whose ack was lost is in both places (at least once), never in neither.
 *
 * Acting on a selection: the job reads the queue from the head (as many deliveries as the queue held when the
 * job reached it), acts on the deliveries whose fingerprint was selected (or that match the filter), holds the
 * others unacked, and requeues those at the end (nack requeue=true: back at their original position on classic
 * queues and on Warren, marked redelivered). Quorum queues count a requeue as a delivery attempt (delivery-limit).
 */
import amqp from 'amqplib'
import type { ConsumeMessage, Options } from 'amqplib'
import type { DeadLetterJob, JobAction, MessageProperties, ReplayTarget } from '../../contract'
import { amqpError } from '../management-backend'
import type { Filterable } from './filter'
import { describeDeadLetter, fingerprint, fromAmqpProperties, ORIGINAL_USER_ID, parseDeaths, REPLAY_ID, replayHeaders, typedHeaders } from './model'

export interface JobSpec {
  id: string
  action: JobAction
  vhost: string
  queues: string[]
  /** amqp URL with credentials and vhost */
  url: string
  username: string
  /** per queue: fingerprint → how many to act on */
  selection?: Map<string, Map<string, number>>
  /** without a selection: which deliveries to act on (default all) */
  filter?: (m: Filterable) => boolean
  target?: ReplayTarget
  deathHeaders?: 'keep' | 'rename'
  /** messages per second, 0/undefined = unlimited */
  rateLimit?: number
  edit?: { body?: Buffer; headers?: Record<string, unknown> }
  /** for the progress bar until the queues have been read through */
  estimate: number
  /** at most this many deliveries outstanding per queue (default 50,000) */
  maxHeld?: number
  onProgress(job: DeadLetterJob): void
}

const MAX_IN_FLIGHT = 500
const IDLE_MS = 1500

export function connectionName(jobId: string): string {
  return `warren-dead-letters-${jobId}`
}

/** Where a replayed message goes: exchange, routing key and CC keys. Throws a message for people when it cannot. */
export function replayRoute(target: ReplayTarget, properties: MessageProperties): { exchange: string; routingKeys: string[] } {
  const deaths = parseDeaths(properties.headers)
  if (target.kind === 'custom') return { exchange: target.exchange, routingKeys: [target.routingKey] }
  const first = deaths[0]
  if (!first) throw new Error('the message has no x-death header: its original route is unknown (choose an exchange)')
  if (target.kind === 'source-queue') return { exchange: '', routingKeys: [first.queue] }
  return { exchange: first.exchange, routingKeys: first.routingKeys.length ? first.routingKeys : [''] }
}

export class DeadLetterJobRunner {
  readonly job: DeadLetterJob
  readonly done: Promise<DeadLetterJob>
  private paused = false
  private cancelled = false
  private wakeUp: (() => void) | undefined
  private lost: Error | undefined
  private abortReason: string | undefined
  private connection: amqp.ChannelModel | undefined
  private lastEmit = 0
  private rateWindow: { at: number; processed: number }[] = []

  constructor(private readonly spec: JobSpec) {
    this.job = {
      id: spec.id,
      action: spec.action,
      state: 'running',
      vhost: spec.vhost,
      queues: spec.queues,
      total: spec.estimate,
      processed: 0,
      replayed: 0,
      deleted: 0,
      failed: 0,
      unroutable: 0,
      skipped: 0,
      rate: 0,
      rateLimit: spec.rateLimit || undefined,
      target: spec.target ? targetText(spec.target) : undefined,
      startedAt: Date.now(),
      summary: 'starting',
    }
    this.done = this.run()
  }

  pause(): void {
    if (this.job.state !== 'running') return
    this.paused = true
    this.job.state = 'paused'
    this.emit(true)
  }

  resume(): void {
    if (this.job.state !== 'paused') return
    this.paused = false
    this.job.state = 'running'
    this.wake()
    this.emit(true)
  }

  cancel(): void {
    if (this.job.state !== 'running' && this.job.state !== 'paused') return
    this.cancelled = true
    this.paused = false
    this.wake()
  }

  /**
   * Stops the job (profile switched, console closing): like cancel — the confirms in flight are awaited and acked,
   * the rest requeued — but the connection is dropped if that takes more than `graceMs` (the broker then requeues
   * every unacked message itself; at worst a confirmed one is in both places).
   */
  async abort(reason = 'stopped', graceMs = 5000): Promise<void> {
    this.abortReason = reason
    this.cancel()
    let timer: ReturnType<typeof setTimeout> | undefined
    await Promise.race([this.done, new Promise((r) => (timer = setTimeout(r, graceMs)))])
    clearTimeout(timer)
    await this.connection?.close().catch(() => {})
  }

  private wake(): void {
    const w = this.wakeUp
    this.wakeUp = undefined
    w?.()
  }

  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wakeUp = undefined
        resolve(false)
      }, ms)
      this.wakeUp = () => {
        clearTimeout(t)
        resolve(true)
      }
    })
  }

  private emit(force = false): void {
    const now = Date.now()
    if (!force && now - this.lastEmit < 200) return
    this.lastEmit = now
    this.rateWindow.push({ at: now, processed: this.job.processed })
    while (this.rateWindow.length > 2 && now - this.rateWindow[0]!.at > 3000) this.rateWindow.shift()
    const first = this.rateWindow[0]!
    this.job.rate = now > first.at ? Math.round(((this.job.processed - first.processed) * 1000) / (now - first.at)) : 0
    this.job.summary = summarize(this.job)
    this.spec.onProgress({ ...this.job, queues: [...this.job.queues] })
  }

  private async run(): Promise<DeadLetterJob> {
    try {
      const connection = await amqp.connect(this.spec.url, { timeout: 10_000, clientProperties: { connection_name: connectionName(this.spec.id) } })
      this.connection = connection
      connection.on('error', () => {})
      connection.on('close', (e?: unknown) => {
        if (this.job.state === 'running' || this.job.state === 'paused') {
          this.lost = new Error(this.abortReason ?? `connection to the broker lost${e ? `: ${amqpError(e).message}` : ''}`)
          this.wake()
        }
      })
      for (const queue of this.spec.queues) {
        if (this.cancelled || this.lost) break
        await this.runQueue(connection, queue)
      }
      if (this.lost && !this.abortReason) throw this.lost
      this.job.state = this.cancelled ? 'cancelled' : 'done'
      if (this.abortReason) this.job.error = this.abortReason
    } catch (e) {
      this.job.state = this.abortReason || (this.cancelled && !this.lost) ? 'cancelled' : 'failed'
      this.job.error = this.abortReason ?? this.lost?.message ?? amqpError(e).message
    } finally {
      await this.connection?.close().catch(() => {})
      this.job.finishedAt = Date.now()
      if (this.job.state === 'done') this.job.total = this.job.processed
      this.emit(true)
    }
    return this.job
  }

  private async runQueue(connection: amqp.ChannelModel, queue: string): Promise<void> {
    const spec = this.spec
    const wanted = spec.selection?.get(queue)
    let wantedLeft = wanted ? [...wanted.values()].reduce((a, b) => a + b, 0) : Infinity
    if (wantedLeft === 0) return
    const consume = await connection.createChannel()
    let channelError: Error | undefined
    consume.on('error', (e) => {
      channelError = amqpError(e)
      this.wake()
    })
    const publish = spec.action === 'replay' ? await connection.createConfirmChannel() : undefined
    const returned = new Set<string>()
    publish?.on('error', (e) => {
      channelError = amqpError(e)
      this.wake()
    })
    publish?.on('return', (m: ConsumeMessage) => {
      const id = m.properties.headers?.[REPLAY_ID]
      if (typeof id === 'string') returned.add(id)
    })
    const { messageCount: limit } = await consume.checkQueue(queue)
    if (limit === 0) {
      await consume.close().catch(() => {})
      await publish?.close().catch(() => {})
      return
    }
    const maxHeld = Math.min(limit, spec.maxHeld ?? 50_000)
    await consume.prefetch(maxHeld)
    const held: ConsumeMessage[] = []
    const work: ConsumeMessage[] = []
    let seen = 0
    let ended = false
    let stopped = false
    let lastDelivery = Date.now()
    let inFlight = 0
    let seq = 0
    const { consumerTag } = await consume.consume(
      queue,
      (msg) => {
        if (!msg) {
          ended = true // the broker cancelled us (queue deleted)
          this.wake()
          return
        }
        lastDelivery = Date.now()
        if (stopped || seen >= limit) {
          held.push(msg)
          return
        }
        seen++
        let match: boolean
        const props = fromAmqpProperties(msg.properties as unknown as Record<string, unknown>)
        if (wanted) {
          const fp = fingerprint(msg.content, props)
          const n = wanted.get(fp) ?? 0
          match = n > 0
          if (match) {
            wanted.set(fp, n - 1)
            wantedLeft--
          }
        } else if (spec.filter) {
          match = spec.filter(describeDeadLetter({ vhost: spec.vhost, queue, index: seen - 1, exchange: msg.fields.exchange, routingKey: msg.fields.routingKey, redelivered: msg.fields.redelivered, properties: props, body: msg.content }))
        } else match = true
        if (match) work.push(msg)
        else {
          held.push(msg)
          this.job.skipped++
        }
        this.wake()
      },
      { noAck: false },
    )

    const startedAt = Date.now()
    let started = 0
    const settle = (msg: ConsumeMessage, ok: boolean, kind?: 'failed' | 'unroutable'): void => {
      if (ok) {
        consume.ack(msg)
        if (spec.action === 'replay') this.job.replayed++
        else this.job.deleted++
      } else {
        held.push(msg)
        if (kind === 'unroutable') this.job.unroutable++
        else this.job.failed++
      }
      this.job.processed++
      this.emit()
    }

    try {
      for (;;) {
        if (this.lost) throw this.lost
        if (channelError) throw channelError
        if (this.cancelled) break
        if (this.paused) {
          await this.sleep(1000)
          continue
        }
        if (work.length) {
          if (inFlight >= MAX_IN_FLIGHT) {
            await this.sleep(1000)
            continue
          }
          if (spec.rateLimit && spec.rateLimit > 0) {
            const due = startedAt + (started * 1000) / spec.rateLimit
            const wait = due - Date.now()
            if (wait > 0) {
              await this.sleep(Math.min(wait, 1000))
              continue
            }
          }
          const msg = work.shift()!
          started++
          if (!publish) {
            settle(msg, true)
            continue
          }
          const props = msg.properties
          let route: { exchange: string; routingKeys: string[] }
          try {
            route = replayRoute(spec.target ?? { kind: 'original' }, fromAmqpProperties(props as unknown as Record<string, unknown>))
          } catch {
            settle(msg, false, 'unroutable')
            continue
          }
          const replayId = `${spec.id}:${seq++}`
          const options = this.publishOptions(props, replayId, route.routingKeys)
          const body = spec.edit?.body ?? msg.content
          inFlight++
          const ok = publish.publish(route.exchange, route.routingKeys[0] ?? '', body, options, (err) => {
            inFlight--
            const wasReturned = returned.delete(replayId)
            if (this.lost) return // the connection is gone: the broker requeues the delivery itself
            settle(msg, !err && !wasReturned, wasReturned ? 'unroutable' : 'failed')
            this.wake()
          })
          if (!ok) await new Promise((r) => publish.once('drain', r))
          continue
        }
        if (wantedLeft <= 0 || seen >= limit || ended) {
          if (inFlight === 0) break
          await this.sleep(1000)
          continue
        }
        // nothing to do: wait for deliveries; a queue that stops delivering (others consumed it, or every slot is
        // taken by held messages) is done for this job
        const woken = await this.sleep(IDLE_MS)
        if (!woken && work.length === 0 && inFlight === 0 && Date.now() - lastDelivery >= IDLE_MS) break
      }
      stopped = true
      if (!this.lost && !channelError) {
        await consume.cancel(consumerTag)
        // wait for the outstanding confirms (a cancel leaves them to finish)
        while (inFlight > 0 && !this.lost && !channelError) await this.sleep(200)
      }
    } finally {
      stopped = true
      if (!this.lost) {
        // everything not acted on goes back, in its original place
        for (const msg of [...work.splice(0), ...held.splice(0)]) {
          try {
            consume.nack(msg, false, true)
          } catch {
            break // channel gone: the broker requeues them anyway
          }
        }
        await consume.close().catch(() => {})
        await publish?.close().catch(() => {})
      }
      this.emit(true)
    }
  }

  private publishOptions(p: ConsumeMessage['properties'], replayId: string, routingKeys: string[]): Options.Publish {
    const spec = this.spec
    const headers = replayHeaders(spec.edit?.headers ?? (p.headers as Record<string, unknown> | undefined), spec.deathHeaders ?? 'keep', replayId)
    const o: Options.Publish = { mandatory: true }
    if (p.contentType) o.contentType = p.contentType as string
    if (p.contentEncoding) o.contentEncoding = p.contentEncoding as string
    if (p.deliveryMode) o.deliveryMode = p.deliveryMode as number
    if (p.priority !== undefined) o.priority = p.priority as number
    if (p.correlationId) o.correlationId = p.correlationId as string
    if (p.replyTo) o.replyTo = p.replyTo as string
    if (p.expiration) o.expiration = p.expiration as string
    if (p.messageId) o.messageId = p.messageId as string
    if (p.timestamp !== undefined) o.timestamp = p.timestamp as number
    if (p.type) o.type = p.type as string
    if (p.appId) o.appId = p.appId as string
    // the broker refuses a user-id other than the connection's user (406): keep the original in a header instead
    if (p.userId) {
      if (p.userId === spec.username) o.userId = p.userId as string
      else headers[ORIGINAL_USER_ID] = p.userId
    }
    if (routingKeys.length > 1) headers.CC = routingKeys.slice(1)
    o.headers = headers
    return o
  }
}

export function targetText(t: ReplayTarget): string {
  if (t.kind === 'original') return 'original route (x-death)'
  if (t.kind === 'source-queue') return 'the queue each died in'
  return `exchange "${t.exchange || '(default)'}" with key "${t.routingKey}"`
}

export function summarize(j: DeadLetterJob): string {
  const verb = j.action === 'replay' ? `${j.replayed} replayed` : `${j.deleted} deleted`
  const parts = [verb]
  if (j.failed) parts.push(`${j.failed} failed (left in the queue)`)
  if (j.unroutable) parts.push(`${j.unroutable} unroutable (left in the queue)`)
  if (j.skipped) parts.push(`${j.skipped} not matching (left in the queue)`)
  const state = j.state === 'done' ? 'finished' : j.state
  return `${state}: ${parts.join(', ')}${j.error ? ` — ${j.error}` : ''}`
}

/** Headers from JSON (an edit) with x-death timestamps restored. */
export { typedHeaders }
