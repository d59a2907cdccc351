/**
 * Matching a routing key (and headers) against a binding as RabbitMQ's exchange types do, for the console's own
 * route walks over the management API's exchanges and bindings (dead-letter discovery, the schedule dialog's route
 * check). The broker has the same rules in broker/core/exchanges; these work on plain API data.
 */
import type { ArgTable, ArgValue } from '../contract'

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
export function routingType(x: { type: string; arguments: ArgTable }): string {
  return x.type === 'x-delayed-message' ? String(x.arguments['x-delayed-type'] ?? 'direct') : x.type
}

export function bindingMatches(type: string, binding: { routingKey: string; arguments: ArgTable }, key: string, headers: ArgTable | undefined): boolean {
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
