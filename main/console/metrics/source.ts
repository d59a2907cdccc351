/**
 * Where the sampler reads per-object figures: the management HTTP API of the active profile (RabbitMQ's, or the
 * embedded broker's compatible one). Only small pages are asked for (the top N by a sort the broker does, and
 * single objects), never a whole list, so a broker with 10,000 queues costs the same as one with 10.
 */
import type { ObjectRef } from '../../contract'
import { ManagementHttp, type ManagementTarget } from '../management-backend'
import type { SampleValues } from './store'

export interface ObjectSample {
  ref: ObjectRef
  values: SampleValues
}

export interface ObjectSource {
  /** the `n` queues with the most messages, then the `n` with the highest publish rate (may overlap) */
  topQueues(n: number): Promise<ObjectSample[]>
  /** the `n` exchanges with the highest publish-in rate */
  topExchanges(n: number): Promise<ObjectSample[]>
  /** one queue or exchange; undefined when it does not exist (any more) */
  queue(ref: ObjectRef): Promise<ObjectSample | undefined>
  exchange(ref: ObjectRef): Promise<ObjectSample | undefined>
}

type Json = Record<string, unknown>
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const rate = (stats: unknown, key: string): number => num(obj(obj(stats)[`${key}_details`]).rate) ?? 0
const enc = encodeURIComponent

export function queueSample(q: Json): ObjectSample {
  return {
    ref: { vhost: String(q.vhost ?? ''), name: String(q.name ?? '') },
    values: {
      publish: rate(q.message_stats, 'publish'),
      deliver: rate(q.message_stats, 'deliver_get'),
      ack: rate(q.message_stats, 'ack'),
      messages: num(q.messages),
      ready: num(q.messages_ready),
      unacked: num(q.messages_unacknowledged),
      consumers: num(q.consumers),
    },
  }
}

export function exchangeSample(x: Json): ObjectSample {
  return {
    ref: { vhost: String(x.vhost ?? ''), name: String(x.name ?? '') },
    values: { publishIn: rate(x.message_stats, 'publish_in'), publishOut: rate(x.message_stats, 'publish_out') },
  }
}

export class HttpObjectSource implements ObjectSource {
  private readonly http: ManagementHttp

  constructor(target: Pick<ManagementTarget, 'managementUrl' | 'username' | 'password'>, fetchImpl: typeof fetch = fetch, timeoutMs = 10_000) {
    this.http = new ManagementHttp(target, { fetchImpl, timeoutMs })
  }

  private get(path: string): Promise<unknown> {
    return this.http.get(path)
  }

  private async top(path: string, sort: string, n: number): Promise<Json[]> {
    const params = new URLSearchParams({ page: '1', page_size: String(n), pagination: 'true', sort, sort_reverse: 'true' })
    const answer = await this.get(`${path}?${params}`)
    if (Array.isArray(answer)) return answer.slice(0, n) as Json[]
    const items = obj(answer).items
    return Array.isArray(items) ? (items as Json[]) : []
  }

  async topQueues(n: number): Promise<ObjectSample[]> {
    const [byDepth, byRate] = await Promise.all([this.top('/api/queues', 'messages', n), this.top('/api/queues', 'message_stats.publish_details.rate', n)])
    return [...byDepth, ...byRate].map(queueSample)
  }

  async topExchanges(n: number): Promise<ObjectSample[]> {
    return (await this.top('/api/exchanges', 'message_stats.publish_in_details.rate', n)).map(exchangeSample)
  }

  private async one(path: string): Promise<Json | undefined> {
    try {
      return obj(await this.get(path))
    } catch (e) {
      if ((e as { replyCode?: number }).replyCode === 404) return undefined
      throw e
    }
  }

  async queue(ref: ObjectRef): Promise<ObjectSample | undefined> {
    const q = await this.one(`/api/queues/${enc(ref.vhost)}/${enc(ref.name)}`)
    return q && queueSample(q)
  }

  async exchange(ref: ObjectRef): Promise<ObjectSample | undefined> {
    const x = await this.one(`/api/exchanges/${enc(ref.vhost)}/${enc(ref.name === '' ? 'amq.default' : ref.name)}`)
    return x && exchangeSample(x)
  }
}
