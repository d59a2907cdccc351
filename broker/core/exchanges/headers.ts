import { plainFieldValue, type FieldTable, type FieldValue } from '../../protocol'
import type { Binding } from '../binding'
import { preconditionFailed } from '../errors'
import type { RoutingTable } from './exchange-type'

type MatchMode = 'all' | 'any' | 'all-with-x' | 'any-with-x'

interface HeadersBinding {
  binding: Binding
  mode: MatchMode
  /** binding arguments to compare; `x-` arguments are left out unless the mode is *-with-x */
  expected: [string, unknown][]
}

/** Parses and checks the x-match argument, as RabbitMQ does when the binding is created. */
export function headersMatchMode(args: FieldTable): MatchMode {
  const raw = args['x-match']
  if (raw === undefined) return 'all'
  const value = plainFieldValue(raw)
  if (value === 'all' || value === 'any' || value === 'all-with-x' || value === 'any-with-x') return value
  throw preconditionFailed(`Invalid x-match field value ${JSON.stringify(String(value))}; expected all, any, all-with-x, or any-with-x`)
}

function valuesEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b)
  if (typeof a === 'bigint' || typeof b === 'bigint') return String(a) === String(b)
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime()
  if (typeof a === 'object' && typeof b === 'object' && a !== null && b !== null) return JSON.stringify(a) === JSON.stringify(b)
  return false
}

/**
 * headers: matches on message header values instead of the routing key (AMQP 0-9-1 §3.1.3.4, with RabbitMQ's
 * all-with-x / any-with-x extension from 3.10). A binding argument of type void matches on presence alone.
 */
export class HeadersRoutingTable implements RoutingTable {
  private readonly bindings = new Map<Binding, HeadersBinding>()

  add(binding: Binding): void {
    const mode = headersMatchMode(binding.arguments)
    const withX = mode.endsWith('-with-x')
    const expected = Object.entries(binding.arguments)
      .filter(([name]) => name !== 'x-match' && (withX || !name.startsWith('x-')))
      .map(([name, value]): [string, unknown] => [name, plainFieldValue(value as FieldValue)])
    this.bindings.set(binding, { binding, mode, expected })
  }

  remove(binding: Binding): void {
    this.bindings.delete(binding)
  }

  route(_routingKey: string, headers: FieldTable | undefined, matches: Set<Binding>): void {
    for (const entry of this.bindings.values()) {
      if (this.matches(entry, headers ?? {})) matches.add(entry.binding)
    }
  }

  private matches({ mode, expected }: HeadersBinding, headers: FieldTable): boolean {
    const all = mode === 'all' || mode === 'all-with-x'
    if (expected.length === 0) return all
    for (const [name, value] of expected) {
      const present = Object.prototype.hasOwnProperty.call(headers, name)
      const ok = present && (value === null || valuesEqual(plainFieldValue(headers[name]), value))
      if (all && !ok) return false
      if (!all && ok) return true
    }
    return all
  }
}
