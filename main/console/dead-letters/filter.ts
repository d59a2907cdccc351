/**
 * Filtering and grouping of dead letters (pure functions over DeadLetterMessage; unit-tested).
 */
import type { DeadLetterFilter, DeadLetterGroup, DeadLetterGroups, DeadLetterMessage } from '../../contract'
import { ConsoleError } from '../profiles'

/** `$.a.b[0]["c d"]`, `a.b[0]` → ['a', 'b', 0, 'c d']. */
export function parseJsonPath(path: string): (string | number)[] {
  let p = path.trim()
  if (p.startsWith('$')) p = p.slice(1)
  const parts: (string | number)[] = []
  const re = /^(?:\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')\s*\])/
  while (p.length) {
    const m = re.exec(p)
    if (!m) throw new ConsoleError('INVALID', `not a JSON path: ${path} (use e.g. $.order.items[0].sku)`)
    if (m[1] !== undefined) parts.push(m[1])
    else if (m[2] !== undefined) parts.push(Number(m[2]))
    else parts.push((m[3] ?? m[4] ?? '').replace(/\\(.)/g, '$1'))
    p = p.slice(m[0].length)
  }
  return parts
}

export function evalJsonPath(doc: unknown, path: (string | number)[]): { found: boolean; value?: unknown } {
  let v: unknown = doc
  for (const part of path) {
    if (v === null || typeof v !== 'object') return { found: false }
    if (typeof part === 'number') {
      if (!Array.isArray(v) || part >= v.length) return { found: false }
      v = v[part]
    } else {
      if (Array.isArray(v) || !Object.prototype.hasOwnProperty.call(v, part)) return { found: false }
      v = (v as Record<string, unknown>)[part]
    }
  }
  return { found: true, value: v }
}

const asText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v) ?? '')

function compileJsonPath(f: NonNullable<DeadLetterFilter['jsonPath']>): (doc: unknown) => boolean {
  const path = parseJsonPath(f.path)
  const want = f.value ?? ''
  let re: RegExp | undefined
  if (f.op === 'regex') {
    try {
      re = new RegExp(want)
    } catch {
      throw new ConsoleError('INVALID', `not a regular expression: ${want}`)
    }
  }
  return (doc) => {
    const { found, value } = evalJsonPath(doc, path)
    if (f.op === 'exists') return found
    if (!found) return f.op === 'ne'
    const text = asText(value)
    switch (f.op) {
      case 'eq':
        return text === want || (typeof value !== 'string' && JSON.stringify(value) === want)
      case 'ne':
        return !(text === want || (typeof value !== 'string' && JSON.stringify(value) === want))
      case 'contains':
        return text.toLowerCase().includes(want.toLowerCase())
      case 'gt':
      case 'lt': {
        const a = typeof value === 'number' ? value : Number(text)
        const b = Number(want)
        const cmp = Number.isFinite(a) && Number.isFinite(b) ? a - b : text.localeCompare(want)
        return f.op === 'gt' ? cmp > 0 : cmp < 0
      }
      case 'regex':
        return re!.test(text)
      default:
        return false
    }
  }
}

/** The body as text (utf-8), decoded once per message and cached. */
const bodyCache = new WeakMap<object, { text: string; json?: unknown; jsonOk: boolean }>()
export function bodyOf(m: Pick<DeadLetterMessage, 'payloadBase64'> & { body?: Buffer }): { text: string; json?: unknown; jsonOk: boolean } {
  const cached = bodyCache.get(m)
  if (cached) return cached
  const text = (m.body ?? Buffer.from(m.payloadBase64, 'base64')).toString('utf8')
  let json: unknown
  let jsonOk = false
  const t = text.trimStart()
  if (t.startsWith('{') || t.startsWith('[')) {
    try {
      json = JSON.parse(text)
      jsonOk = true
    } catch {
      // not JSON
    }
  }
  const out = { text, json, jsonOk }
  bodyCache.set(m, out)
  return out
}

export type Filterable = DeadLetterMessage & { body?: Buffer }

/** A predicate for the filter; throws INVALID for a bad JSON path or regular expression. */
export function compileFilter(filter: DeadLetterFilter | undefined): (m: Filterable) => boolean {
  const f = filter ?? {}
  const queues = f.queues?.length ? new Set(f.queues) : undefined
  const reasons = f.reasons?.length ? new Set(f.reasons) : undefined
  const sources = f.sourceQueues?.length ? new Set(f.sourceQueues) : undefined
  const headers = (f.headers ?? []).filter((h) => h.name.trim() !== '')
  const needle = f.bodyText?.trim().toLowerCase()
  const json = f.jsonPath?.path.trim() ? compileJsonPath(f.jsonPath) : undefined
  return (m) => {
    if (queues && !queues.has(m.queue)) return false
    if (reasons && !reasons.has(m.reason)) return false
    if (sources && !sources.has(m.sourceQueue)) return false
    if (f.from !== undefined && (m.deathTime === undefined || m.deathTime < f.from)) return false
    if (f.to !== undefined && (m.deathTime === undefined || m.deathTime > f.to)) return false
    for (const h of headers) {
      const all = m.properties.headers ?? {}
      if (!Object.prototype.hasOwnProperty.call(all, h.name)) return false
      if (h.value && !asText(all[h.name]).toLowerCase().includes(h.value.toLowerCase())) return false
    }
    if (needle && !bodyOf(m).text.toLowerCase().includes(needle)) return false
    if (json) {
      const b = bodyOf(m)
      if (!b.jsonOk || !json(b.json)) return false
    }
    return true
  }
}

export function routeKey(m: Pick<DeadLetterMessage, 'originalExchange' | 'originalRoutingKeys'>): string {
  return `${m.originalExchange || '(default)'} → ${m.originalRoutingKeys.join(', ') || '(none)'}`
}

function group(messages: DeadLetterMessage[], keyOf: (m: DeadLetterMessage) => string): DeadLetterGroup[] {
  const map = new Map<string, DeadLetterGroup>()
  for (const m of messages) {
    const key = keyOf(m)
    let g = map.get(key)
    if (!g) map.set(key, (g = { key, count: 0 }))
    g.count++
    if (m.deathTime !== undefined) {
      if (g.firstAt === undefined || m.deathTime < g.firstAt) g.firstAt = m.deathTime
      if (g.lastAt === undefined || m.deathTime > g.lastAt) g.lastAt = m.deathTime
    }
  }
  return [...map.values()].sort((a, b) => b.count - a.count || a.key.localeCompare(b.key))
}

export function groupDeadLetters(messages: DeadLetterMessage[]): DeadLetterGroups {
  return {
    byReason: group(messages, (m) => m.reason),
    bySourceQueue: group(messages, (m) => m.sourceQueue || '(unknown)'),
    byRoute: group(messages, routeKey),
  }
}

export function timeRange(messages: DeadLetterMessage[]): { firstAt?: number; lastAt?: number } {
  let firstAt: number | undefined
  let lastAt: number | undefined
  for (const m of messages) {
    if (m.deathTime === undefined) continue
    if (firstAt === undefined || m.deathTime < firstAt) firstAt = m.deathTime
    if (lastAt === undefined || m.deathTime > lastAt) lastAt = m.deathTime
  }
  return { firstAt, lastAt }
}
