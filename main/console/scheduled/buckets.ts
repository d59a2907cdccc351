/**
 * Delay buckets of the TTL + dead-letter path (RabbitMQ without the delayed-message plugin).
 *
 * RabbitMQ expires a message only when it reaches the head of its queue, so a queue holding a 1-hour message ahead of
 * a 1-second one would hold the short one back for an hour. Each delay therefore goes to a queue of its own bucket:
 * delays of similar length share a queue, so within it due order is publish order give or take the bucket's width.
 * Each message carries its exact remaining delay as per-message TTL (`expiration`); the queue dead-letters it to the
 * target exchange when it expires, with its original routing key.
 *
 * Widths: 1 s up to 32 s, then 1/32 to 1/64 of the delay (a power of two): a message is at most one width late
 * (~3 %, at least 1 s), and only when a longer delay of the same bucket was published just before it.
 */

/** A longer delay cannot be held: RabbitMQ's queue expiry (x-expires) is limited to 2^32-1 ms. */
export const MAX_TTL_DELAY_MS = 45 * 24 * 3600 * 1000
export const MIN_WIDTH_MS = 1000
export const DELAY_PREFIX = 'warren.delay'
/** the holder exchange of the plugin / Warren path (x-delayed-message, x-delayed-type headers) */
export const HOLDER_EXCHANGE = 'warren.delay'
/** the header that says which exchange a message held by the holder exchange goes to */
export const TARGET_HEADER = 'warren-delay-target'
/** the header that identifies a message in its delay queue (TTL path) */
export const ID_HEADER = 'warren-delay-id'

export interface Bucket {
  /** delays in [lowerMs, upperMs) share the queue */
  lowerMs: number
  upperMs: number
  widthMs: number
}

/** The bucket of a delay (ms, > 0). */
export function bucketFor(delayMs: number): Bucket {
  if (!(delayMs > 0) || !Number.isFinite(delayMs)) throw new RangeError(`a delay must be a positive number of ms, got ${delayMs}`)
  const d = Math.floor(delayMs)
  const width = Math.max(MIN_WIDTH_MS, 2 ** (Math.floor(Math.log2(d)) - 5))
  const lowerMs = Math.floor(d / width) * width
  return { lowerMs, upperMs: lowerMs + width, widthMs: width }
}

/** The delay queue (and its fanout entry exchange, of the same name) of a bucket and target exchange. */
export function bucketQueueName(bucket: Bucket, target: string): string {
  return `${DELAY_PREFIX}.ttl.${bucket.lowerMs}-${bucket.upperMs}.${target === '' ? 'amq.default' : target}`
}

/**
 * The delay queue's arguments: dead-letter to the target (keeping each message's routing key), and expire the queue
 * once it has been unused (no declare, no consumer) longer than its longest message can wait.
 */
export function bucketQueueArguments(bucket: Bucket, target: string): Record<string, string | number> {
  return {
    'x-dead-letter-exchange': target,
    'x-expires': Math.min(2 ** 32 - 1, bucket.upperMs + bucket.widthMs + 60_000),
  }
}

/** How late a message of this delay can be on the TTL path, at most (ms). */
export function worstLatenessMs(delayMs: number): number {
  return bucketFor(delayMs).widthMs
}

/** Human words for a duration, e.g. "1 s", "2.5 min", "3 h". */
export function describeMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`
  if (ms < 60_000) return `${+(ms / 1000).toFixed(1)} s`
  if (ms < 3_600_000) return `${+(ms / 60_000).toFixed(1)} min`
  if (ms < 86_400_000) return `${+(ms / 3_600_000).toFixed(1)} h`
  return `${+(ms / 86_400_000).toFixed(1)} d`
}

/** The due time of a request: `dueAt`, or now + `delayMs`; a missing or non-finite one is refused. */
export function dueTimeOf(req: { dueAt?: number; delayMs?: number }, now: number): number {
  if (typeof req.dueAt === 'number' && Number.isFinite(req.dueAt)) return Math.round(req.dueAt)
  if (typeof req.delayMs === 'number' && Number.isFinite(req.delayMs)) return Math.round(now + req.delayMs)
  throw new RangeError('give a due time (dueAt, ms since the epoch) or a delay (delayMs)')
}

/** Counts due times into `slots` equal slots from the first to the last (the timeline chart). */
export function histogram(dues: number[], slots: number): { from: number; to: number; slotMs: number; counts: number[]; total: number } {
  const n = Math.max(1, Math.min(1000, Math.floor(slots)))
  if (dues.length === 0) return { from: 0, to: 0, slotMs: 0, counts: [], total: 0 }
  let min = Infinity
  let max = -Infinity
  for (const d of dues) {
    if (d < min) min = d
    if (d > max) max = d
  }
  const slotMs = Math.max(1, Math.ceil((max + 1 - min) / n))
  const counts = new Array<number>(n).fill(0)
  for (const d of dues) counts[Math.min(n - 1, Math.floor((d - min) / slotMs))]++
  return { from: min, to: min + slotMs * n, slotMs, counts, total: dues.length }
}
