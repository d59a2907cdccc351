// Bad input to the management HTTP API: malformed JSON, wrong types, unknown fields, path traversal and odd bytes in
// names, bad percent-escapes, silly query parameters, bodies over the size limit. Every answer must be a 2xx or a
// 4xx — with RabbitMQ's JSON error body ({"error": ..., "reason": ...}) for 4xx — never a 5xx, never a crash or an
// unhandled exception, and the API and AMQP keep serving. A table of fixed cases checks exact statuses; a seeded
// mutation run over valid requests does the rest (2,000 in `npm test`, 30,000 in `npm run test:soak`).
// Requests go out through node:http, not fetch, so paths are sent byte for byte (fetch would normalise "..").
import { request, Agent } from 'node:http'
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { scale, seeded, type Seeded } from './config'

const CASES = scale(2000, 30_000)
const PARALLEL = 8
const BATCH = 500
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`

interface Answer {
  status: number
  body: string
}

let broker: BrokerHandle
const agent = new Agent({ keepAlive: true, maxSockets: PARALLEL })

function send(method: string, path: string, body?: Buffer | string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port: broker.httpPort,
        method,
        path,
        agent,
        // an explicit length: node would send a GET/DELETE body without one, which the server cannot frame
        headers: { authorization: AUTH, ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    if (body !== undefined) req.end(body)
    else req.end()
  })
}

/** The problems with an answer: a 5xx, or a 4xx without RabbitMQ's JSON error body. */
function problemsOf(answer: Answer, method = 'GET'): string[] {
  const problems: string[] = []
  if (answer.status >= 500 || answer.status < 200) problems.push(`status ${answer.status}: ${answer.body.slice(0, 300)}`)
  if (answer.status >= 400 && answer.status !== 405 && method !== 'HEAD') {
    try {
      const json = JSON.parse(answer.body) as { error?: unknown; reason?: unknown }
      if (typeof json.error !== 'string' || typeof json.reason !== 'string' || json.reason === '') problems.push(`status ${answer.status} without {error, reason}: ${answer.body.slice(0, 300)}`)
    } catch {
      problems.push(`status ${answer.status} with a body that is not JSON: ${answer.body.slice(0, 300)}`)
    }
  }
  return problems
}

// --- valid requests, the corpus -------------------------------------------------------------------------------

interface Req {
  method: string
  /** path segments after /api (each one is percent-encoded when sent) */
  segments: string[]
  query?: Record<string, string>
  body?: unknown
}

const ARGS = { 'x-message-ttl': 60000, 'x-max-length': 10, 'x-dead-letter-exchange': 'amq.fanout', 'x-queue-mode': 'lazy', nested: { list: [1, 'a', true, null] } }

function corpus(n: number): Req[] {
  const q = `fuzz-q-${n % 50}`
  const x = `fuzz-x-${n % 20}`
  return [
    { method: 'PUT', segments: ['queues', '/', q], body: { durable: n % 2 === 0, auto_delete: false, arguments: ARGS } },
    { method: 'PUT', segments: ['exchanges', '/', x], body: { type: 'topic', durable: false, auto_delete: false, internal: false, arguments: { 'alternate-exchange': 'amq.direct' } } },
    { method: 'POST', segments: ['bindings', '/', 'e', x, 'q', q], body: { routing_key: 'a.#', arguments: { 'x-match': 'all', k: 'v' } } },
    { method: 'POST', segments: ['exchanges', '/', 'amq.default', 'publish'], body: { properties: { delivery_mode: 2, headers: { h: 1 }, content_type: 'text/plain', priority: 1 }, routing_key: q, payload: 'hello', payload_encoding: 'string' } },
    { method: 'POST', segments: ['queues', '/', q, 'get'], body: { count: 2, ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 50000 } },
    { method: 'PUT', segments: ['policies', '/', `fuzz-p-${n % 5}`], body: { pattern: '^fuzz-q-', definition: { 'max-length': 100, 'message-ttl': 60000 }, priority: 1, 'apply-to': 'queues' } },
    { method: 'PUT', segments: ['users', `fuzz-u-${n % 5}`], body: { password: 'secret', tags: 'management' } },
    { method: 'PUT', segments: ['permissions', '/', `fuzz-u-${n % 5}`], body: { configure: '.*', write: '.*', read: '.*' } },
    { method: 'PUT', segments: ['vhosts', `fuzz-v-${n % 3}`], body: { description: 'fuzz', tags: 'a,b' } },
    { method: 'POST', segments: ['definitions'], body: { queues: [{ name: q, vhost: '/', durable: true, auto_delete: false, arguments: {} }], exchanges: [], bindings: [], policies: [], users: [], vhosts: [], permissions: [] } },
    { method: 'GET', segments: ['queues', '/'], query: { page: '1', page_size: '50', name: 'fuzz', use_regex: 'false', sort: 'name', sort_reverse: 'true', columns: 'name,messages' } },
    { method: 'GET', segments: ['queues', '/', q, 'messages'], query: { offset: '0', limit: '10' } },
    { method: 'GET', segments: ['exchanges', '/', x, 'bindings', 'source'] },
    { method: 'GET', segments: ['overview'] },
    { method: 'DELETE', segments: ['queues', '/', q, 'contents'] },
    { method: 'DELETE', segments: ['bindings', '/', 'e', x, 'q', q, 'a.%23'] },
    { method: 'DELETE', segments: ['policies', '/', `fuzz-p-${n % 5}`] },
    { method: 'DELETE', segments: ['exchanges', '/', x], query: { 'if-unused': 'true' } },
  ]
}

// --- mutations ------------------------------------------------------------------------------------------------

const WRONG_VALUES: unknown[] = ['', 'yes', 0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 2, true, false, null, [], [1, 'a'], {}, { a: { b: {} } }, '\u0000', 'é✓', 'x'.repeat(300), '__proto__', { __proto__: { polluted: true } }]
const NAMES = ['..', '../..', '../../etc/passwd', '..\\..\\windows', '.', '', ' ', '\u0000', 'a\u0000b', 'x'.repeat(256), 'x'.repeat(5000), 'é✓😀', '%', '%2F', 'amq.gen-x', 'amq.direct', '/', '//', '?', '#', '\n', '\r\nX-Injected: 1']
const RAW_SEGMENTS = ['%zz', '%', '%2', '%C0%AE%C0%AE', '%ff%fe', '..', '.', '%2e%2e', '%2E%2E%2F', '']
const QUERY_VALUES = ['-1', 'abc', '0', '1e9', '99999999999999999999', '', '__proto__', 'constructor', '[', '(', '.*', '(a+)+$', 'true', 'NaN']

function deepNest(depth: number): string {
  return '['.repeat(depth) + ']'.repeat(depth)
}

function randomJsonValue(r: Seeded): unknown {
  return r.pick(WRONG_VALUES)
}

function mutateBody(body: unknown, r: Seeded): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return randomJsonValue(r)
  const copy: Record<string, unknown> = { ...(body as Record<string, unknown>) }
  const keys = Object.keys(copy)
  const roll = r.int(0, 4)
  if (roll === 0 && keys.length) copy[r.pick(keys)] = randomJsonValue(r) // a wrong type
  else if (roll === 1 && keys.length) delete copy[r.pick(keys)] // a missing field
  else if (roll === 2) copy[r.pick(['unknown', 'x-extra', '__proto__', 'constructor'])] = randomJsonValue(r) // an unknown one
  else if (roll === 3 && keys.length) {
    const key = r.pick(keys) // one level down
    copy[key] = mutateBody(copy[key], r)
  } else return randomJsonValue(r) // not an object at all
  return copy
}

function encodePath(segments: string[]): string {
  return '/api/' + segments.map((s) => encodeURIComponent(s)).join('/')
}

interface Case {
  method: string
  path: string
  body?: Buffer | string
  headers?: Record<string, string>
}

function mutate(req: Req, r: Seeded): Case {
  let method = req.method
  const segments = [...req.segments]
  const query = { ...(req.query ?? {}) }
  let body: Buffer | string | undefined = req.body === undefined ? undefined : JSON.stringify(req.body)
  let rawPath: string | undefined
  const headers: Record<string, string> = {}
  for (let n = r.int(1, 2); n > 0; n--) {
    switch (r.int(0, 11)) {
      case 0:
      case 1:
        body = JSON.stringify(mutateBody(req.body ?? {}, r))
        break
      case 2: {
        // broken JSON text
        const text: string = typeof body === 'string' ? body : '{}'
        const cut = r.int(0, text.length)
        body = r.rnd() < 0.5 ? text.slice(0, cut) : text.slice(0, cut) + r.pick(['}', '{', '"', ',', ':', '\\', '\u0000', 'NaN', 'undefined', "'"]) + text.slice(cut)
        break
      }
      case 3:
        body = r.pick(['', ' ', 'null', '[]', '"text"', '42', 'true', deepNest(r.int(100, 50_000)), '{"a":' + deepNest(2000) + '}', '{"__proto__":{"admin":true}}'])
        break
      case 4:
        body = Buffer.from(Array.from({ length: r.int(1, 200) }, () => r.int(0, 255))) // not even UTF-8
        break
      case 5: // a name with traversal or odd bytes
        if (segments.length > 1) segments[r.int(1, segments.length - 1)] = r.pick(NAMES)
        break
      case 6: {
        // a raw, not-encoded path segment (bad escapes, literal dots)
        const raw = segments.map((s) => encodeURIComponent(s))
        raw[r.int(0, raw.length - 1)] = r.pick(RAW_SEGMENTS)
        rawPath = '/api/' + raw.join('/')
        break
      }
      case 7: // query parameters
        query[r.pick(['page', 'page_size', 'sort', 'sort_reverse', 'columns', 'name', 'use_regex', 'offset', 'limit', 'count', 'if-unused', 'if-empty'])] = r.pick(QUERY_VALUES)
        break
      case 8:
        method = r.pick(['GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS'])
        break
      case 9:
        headers['content-type'] = r.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=latin1', ''])
        break
      case 10: // a segment more or less
        if (r.rnd() < 0.5) segments.push(r.pick(NAMES))
        else segments.pop()
        break
      default: // a large but acceptable body: a 256 KB string value
        body = JSON.stringify({ ...(typeof req.body === 'object' && req.body ? req.body : {}), big: 'x'.repeat(256 * 1024) })
    }
  }
  if (method === 'GET' || method === 'DELETE' || method === 'HEAD' || method === 'OPTIONS') body = r.rnd() < 0.8 ? undefined : body
  let path = rawPath ?? encodePath(segments)
  const qs = new URLSearchParams(query).toString()
  if (qs) path += `?${qs}`
  return { method, path, body, headers }
}

// --- the tests ------------------------------------------------------------------------------------------------

describe('management HTTP API under bad input', () => {
  const errors: string[] = []
  const onUncaught = (error: unknown) => errors.push(`uncaught: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
  beforeAll(async () => {
    process.on('uncaughtException', onUncaught)
    process.on('unhandledRejection', onUncaught)
    broker = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0, logger: { info() {}, warn() {}, error: (message) => errors.push(`logged error: ${message}`) } })
  })
  afterAll(async () => {
    agent.destroy()
    await broker?.close()
    process.off('uncaughtException', onUncaught)
    process.off('unhandledRejection', onUncaught)
  })

  async function stillServes(): Promise<void> {
    const overview = await send('GET', '/api/overview')
    expect(overview.status).toBe(200)
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
    const ch = await conn.createChannel()
    const { queue } = await ch.assertQueue('', { exclusive: true })
    ch.sendToQueue(queue, Buffer.from('ok'))
    await expect.poll(async () => (await ch.get(queue, { noAck: true })) !== false).toBe(true)
    await conn.close()
  }

  it('fixed cases: malformed JSON, wrong types, traversal in names, huge bodies get the right 4xx', async () => {
    const cases: Array<{ c: Case; status: number | number[] }> = [
      { c: { method: 'PUT', path: '/api/queues/%2F/q-json', body: '{"durable": tru' }, status: 400 },
      { c: { method: 'PUT', path: '/api/queues/%2F/q-json', body: '[1,2]' }, status: 400 },
      { c: { method: 'PUT', path: '/api/queues/%2F/q-json', body: Buffer.from([0xff, 0xfe, 0x7b]) }, status: 400 },
      { c: { method: 'PUT', path: '/api/queues/%2F/q-json', body: deepNest(100_000) }, status: 400 },
      { c: { method: 'PUT', path: '/api/queues/%2F/q-types', body: JSON.stringify({ durable: 'yes' }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/queues/%2F/q-types', body: JSON.stringify({ arguments: 'x-message-ttl=5' }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/queues/%2F/q-types', body: JSON.stringify({ arguments: { 'x-message-ttl': 'soon' } }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/exchanges/%2F/x-types', body: JSON.stringify({ type: 42 }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/exchanges/%2F/x-types', body: JSON.stringify({ type: 'no-such-type' }) }, status: 400 },
      { c: { method: 'POST', path: '/api/queues/%2F/q-types/get', body: JSON.stringify({ count: 'all', ackmode: 'ack_requeue_true', encoding: 'auto' }) }, status: 400 },
      { c: { method: 'POST', path: '/api/exchanges/%2F/amq.default/publish', body: JSON.stringify({ routing_key: 'k', payload: { no: 'string' }, payload_encoding: 'string', properties: {} }) }, status: 400 },
      { c: { method: 'POST', path: '/api/exchanges/%2F/amq.default/publish', body: JSON.stringify({ routing_key: 'k', payload: 'x', payload_encoding: 'string', properties: { priority: 1e308 } }) }, status: 400 },
      { c: { method: 'POST', path: '/api/exchanges/%2F/amq.default/publish', body: JSON.stringify({ routing_key: 'k', payload: 'x', payload_encoding: 'string', properties: { delivery_mode: 256 } }) }, status: 400 },
      { c: { method: 'POST', path: '/api/exchanges/%2F/amq.default/publish', body: JSON.stringify({ routing_key: 'k', payload: 'x', payload_encoding: 'string', properties: { timestamp: 2 ** 64 } }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/exchanges/%2F/x-proto', body: JSON.stringify({ type: '__proto__' }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/exchanges/%2F/x-proto', body: JSON.stringify({ type: 'constructor' }) }, status: 400 },
      { c: { method: 'GET', path: '/api/queues?columns=__proto__.polluted,constructor.prototype.polluted,name' }, status: 200 },
      { c: { method: 'POST', path: '/api/exchanges/%2F/amq.default/publish', body: JSON.stringify({ routing_key: 'k', payload: 'x', payload_encoding: 'string', properties: { delivery_mode: 'persistent' } }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/users/u-types', body: JSON.stringify({ password: ['a'], tags: '' }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/policies/%2F/p-types', body: JSON.stringify({ pattern: '(', definition: { 'max-length': 1 } }) }, status: 400 },
      // names and routing keys that AMQP could never carry (shortstr, 255 bytes) are refused up front
      { c: { method: 'PUT', path: '/api/queues/%2F/' + 'x'.repeat(256), body: '{}' }, status: 400 },
      { c: { method: 'PUT', path: '/api/exchanges/%2F/' + 'x'.repeat(300), body: '{"type":"fanout"}' }, status: 400 },
      { c: { method: 'POST', path: '/api/exchanges/%2F/amq.fanout/publish', body: JSON.stringify({ routing_key: 'k'.repeat(300), payload: 'x', payload_encoding: 'string', properties: {} }) }, status: 400 },
      { c: { method: 'POST', path: '/api/exchanges/%2F/amq.fanout/publish', body: JSON.stringify({ routing_key: 'k', payload: 'x', payload_encoding: 'string', properties: { content_type: 'x'.repeat(300) } }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/queues/%2F/q-dlrk', body: JSON.stringify({ arguments: { 'x-dead-letter-exchange': 'amq.fanout', 'x-dead-letter-routing-key': 'k'.repeat(300) } }) }, status: 400 },
      { c: { method: 'PUT', path: '/api/policies/%2F/p-dlrk', body: JSON.stringify({ pattern: '^p-dlrk', definition: { 'dead-letter-exchange': 'amq.fanout', 'dead-letter-routing-key': 'k'.repeat(300) } }) }, status: 400 },
      // names are opaque: traversal sequences are just characters of a name, never a file path
      { c: { method: 'PUT', path: '/api/queues/%2F/..%2F..%2Fetc%2Fpasswd', body: '{}' }, status: [201, 204] },
      { c: { method: 'GET', path: '/api/queues/%2F/..%2F..%2Fetc%2Fpasswd' }, status: 200 },
      { c: { method: 'GET', path: '/api/queues/%2F/../../etc/passwd' }, status: 404 },
      { c: { method: 'GET', path: '/api/../../../../etc/passwd' }, status: 404 },
      { c: { method: 'GET', path: '/api/queues/%zz' }, status: 404 },
      { c: { method: 'GET', path: '/api/vhosts/%2e%2e' }, status: 404 },
      { c: { method: 'PATCH', path: '/api/queues/%2F/q' }, status: 405 },
      { c: { method: 'GET', path: '/api/queues?page=-1' }, status: 400 },
      { c: { method: 'GET', path: '/api/queues?page=abc' }, status: 400 },
      { c: { method: 'GET', path: '/api/queues?name=(a&use_regex=true' }, status: [200, 400] },
    ]
    const failures: string[] = []
    for (const { c, status } of cases) {
      const answer = await send(c.method, c.path, c.body, c.headers)
      const expected = Array.isArray(status) ? status : [status]
      if (!expected.includes(answer.status)) failures.push(`${c.method} ${c.path.slice(0, 80)}: ${answer.status} (expected ${expected.join(' or ')}) ${answer.body.slice(0, 200)}`)
      failures.push(...problemsOf(answer).map((p) => `${c.method} ${c.path.slice(0, 80)}: ${p}`))
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    // a "__proto__" argument is kept as an argument, not turned into the table's prototype
    expect((await send('PUT', '/api/queues/%2F/q-proto-arg', '{"arguments":{"__proto__":{"x-message-ttl":5},"k":1}}')).status).toBe(201)
    const protoArgs = JSON.parse((await send('GET', '/api/queues/%2F/q-proto-arg')).body) as { arguments: Record<string, unknown> }
    expect(Object.keys(protoArgs.arguments).sort()).toEqual(['__proto__', 'k'])
    // the traversal name round-trips as a name
    const listed = JSON.parse((await send('GET', '/api/queues/%2F/..%2F..%2Fetc%2Fpasswd')).body) as { name: string }
    expect(listed.name).toBe('../../etc/passwd')
    expect(failures, failures.join('\n')).toEqual([])
    expect(errors, errors.join('\n')).toEqual([])
    await stillServes()
  })

  it('a body over the size limit gets 413 and the API keeps serving', async () => {
    const huge = Buffer.alloc(65 * 1024 * 1024, 0x20) // over the API's 64 MiB limit
    const answer = await send('PUT', '/api/queues/%2F/q-huge', huge)
    expect(answer.status).toBe(413)
    expect(problemsOf(answer)).toEqual([])
    const ten = JSON.stringify({ durable: false, arguments: { big: 'x'.repeat(10 * 1024 * 1024) } })
    const tenAnswer = await send('PUT', '/api/queues/%2F/q-ten-mb', ten)
    expect(problemsOf(tenAnswer)).toEqual([])
    expect(errors, errors.join('\n')).toEqual([])
    await stillServes()
  })

  it(`${CASES} seeded mutations of valid requests: 2xx or 4xx with a JSON error, never 5xx`, async () => {
    const r = seeded('fuzz-http')
    const tally = new Map<number, number>()
    const failures: string[] = []
    for (let start = 0; start < CASES; start += BATCH) {
      const end = Math.min(CASES, start + BATCH)
      let next = start
      await Promise.all(
        Array.from({ length: PARALLEL }, async () => {
          while (next < end) {
            const i = next++
            const c = mutate(r.pick(corpus(i)), r)
            const answer = await send(c.method, c.path, c.body, c.headers).catch((error: unknown) => ({ status: -1, body: String(error) }))
            tally.set(answer.status, (tally.get(answer.status) ?? 0) + 1)
            const problems = problemsOf(answer, c.method)
            if (problems.length && failures.length < 10) failures.push(`seed ${r.seed} case ${i}: ${c.method} ${c.path.slice(0, 200)} body ${String(c.body ?? '').slice(0, 200)} → ${problems.join('; ')}`)
          }
        }),
      )
      expect(failures, failures.join('\n')).toEqual([])
      expect(errors, errors.join('\n')).toEqual([])
      await stillServes()
    }
    console.log(`[fuzz-http] ${CASES} cases (seed ${r.seed}), by status:`, Object.fromEntries(tally))
    expect(tally.get(400) ?? 0).toBeGreaterThan(CASES / 20)
    expect([...tally.keys()].filter((s) => s >= 200 && s < 300).length).toBeGreaterThan(0)
  }, scale(120_000, 60 * 60_000))
})
