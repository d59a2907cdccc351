/**
 * Does an exchange route a routing key (and headers) to at least one queue right now? The console asks before it
 * schedules a message, from the management API's exchanges and bindings. The matching is RabbitMQ's: direct, fanout,
 * topic, headers (all / any / all-with-x / any-with-x), x-delayed-message by its x-delayed-type, exchange-to-exchange
 * bindings followed once each, and an `alternate-exchange` argument when nothing matches. (An alternate exchange set
 * by policy is not seen.)
 */
import type { ArgTable, ArgValue } from '../../contract'

export interface ExchangeFacts {
  name: string
  type: string
  arguments: ArgTable
  bindings: Array<{ destination: string; destinationType: 'queue' | 'exchange'; routingKey: string; arguments: ArgTable }>
}

/** Topic match: words separated by dots, `*` one word, `#` zero or more. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern.split('.')
  const k = key.split('.')
  const memo = new Map<string, boolean>()
  const go = (i: number, j: number): boolean => {
    const id = `${i},${j}`
    const known = memo.get(id)
    if (known !== undefined) return known
    let r: boolean
    if (i === p.length) r = j === k.length
    else if (p[i] === '#') r = go(i + 1, j) || (j < k.length && go(i, j + 1))
    else r = j < k.length && (p[i] === '*' || p[i] === k[j]) && go(i + 1, j + 1)
    memo.set(id, r)
    return r
  }
  return go(0, 0)
}

const same = (a: ArgValue | undefined, b: ArgValue | undefined): boolean => JSON.stringify(a) === JSON.stringify(b)

/** Headers match as RabbitMQ's headers exchange does (x-match all by default; x- keys count only with -with-x). */
export function headersMatch(bindingArgs: ArgTable, headers: ArgTable | undefined): boolean {
  const mode = String(bindingArgs['x-match'] ?? 'all')
  const withX = mode.endsWith('-with-x')
  const any = mode.startsWith('any')
  const h = headers ?? {}
  const keys = Object.keys(bindingArgs).filter((k) => k !== 'x-match' && (withX || !k.startsWith('x-')))
  if (keys.length === 0) return !any
  const hit = (k: string) => Object.prototype.hasOwnProperty.call(h, k) && (bindingArgs[k] === null || same(bindingArgs[k], h[k]))
  return any ? keys.some(hit) : keys.every(hit)
}

/** The type an exchange routes as (its x-delayed-type when it is a delayed exchange). */
export function routingType(x: Pick<ExchangeFacts, 'type' | 'arguments'>): string {
  return x.type === 'x-delayed-message' ? String(x.arguments['x-delayed-type'] ?? 'direct') : x.type
}

export function bindingMatches(type: string, binding: ExchangeFacts['bindings'][number], key: string, headers: ArgTable | undefined): boolean {
  switch (type) {
    case 'fanout':
      return true
    case 'direct':
      return binding.routingKey === key
    case 'topic':
      return topicMatches(binding.routingKey, key)
    case 'headers':
      return headersMatch(binding.arguments, headers)
    default:
      // an exchange type we do not know (a plugin's): assume it may route
      return true
  }
}

/** The queues reached from `exchange` (undefined when it does not exist); `lookup` fetches an exchange's facts. */
export async function reachableQueues(
  lookup: (name: string) => Promise<ExchangeFacts | undefined>,
  exchange: string,
  key: string,
  headers: ArgTable | undefined,
): Promise<string[] | undefined> {
  const queues = new Set<string>()
  const visited = new Set<string>()
  const start = await lookup(exchange)
  if (!start) return undefined
  const walk = async (x: ExchangeFacts, allowAlternate: boolean): Promise<void> => {
    visited.add(x.name)
    const type = routingType(x)
    const matched = x.bindings.filter((b) => bindingMatches(type, b, key, headers))
    if (matched.length === 0 && allowAlternate) {
      const alternate = x.arguments['alternate-exchange']
      if (typeof alternate === 'string' && !visited.has(alternate)) {
        const ae = await lookup(alternate)
        if (ae) await walk(ae, true)
      }
      return
    }
    for (const b of matched) {
      if (b.destinationType === 'queue') queues.add(b.destination)
      else if (!visited.has(b.destination)) {
        const next = await lookup(b.destination)
        if (next) await walk(next, true)
      }
    }
  }
  await walk(start, true)
  return [...queues].sort()
}
