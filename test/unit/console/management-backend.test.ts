import { describe, expect, it } from 'vitest'
import {
  amqpConnectUrl,
  amqpError,
  encodeBody,
  httpError,
  ManagementBackend,
  pageLocally,
  toMessage,
  type ManagementTarget,
} from '../../../main/console/management-backend'

const target = (over: Partial<ManagementTarget> = {}): ManagementTarget => ({
  profileId: 'p',
  amqpUrl: 'amqp://mq:5672',
  managementUrl: 'http://mq:15672/',
  username: 'ops',
  password: 'p@ss/word',
  vhost: '/',
  embedded: false,
  ...over,
})

/** a fetch that records requests and answers from a route table */
function fakeFetch(routes: Record<string, (body: unknown) => [number, unknown]>) {
  const calls: { method: string; url: string; body: unknown; headers: Record<string, string> }[] = []
  const impl = (async (url: string, init: RequestInit) => {
    const body = init.body ? JSON.parse(String(init.body)) : undefined
    calls.push({ method: init.method ?? 'GET', url, body, headers: init.headers as Record<string, string> })
    const path = new URL(url).pathname
    const key = `${init.method} ${path}`
    const route = routes[key]
    const [status, answer] = route ? route(body) : [404, { error: 'Object Not Found', reason: 'Not Found' }]
    return new Response(answer === undefined ? '' : JSON.stringify(answer), { status })
  }) as unknown as typeof fetch
  return { impl, calls }
}

describe('errors keep the broker reply code and text', () => {
  it('maps management API answers', () => {
    expect(httpError(404, '{"error":"Object Not Found","reason":"Not Found"}')).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, message: '404 NOT_FOUND - Not Found' })
    // RabbitMQ wraps channel errors of HTTP publishing in a 400
    expect(httpError(400, `{"error":"bad_request","reason":"404 NOT_FOUND - no exchange 'x' in vhost '/'"}`)).toMatchObject({ code: 'NOT_FOUND', replyCode: 404 })
    expect(httpError(401, 'nope')).toMatchObject({ code: 'UNAUTHORIZED', replyCode: 401 })
    expect(httpError(503, '')).toMatchObject({ code: 'BROKER_ERROR' })
  })

  it('maps amqplib errors', () => {
    const e = Object.assign(new Error(`Channel closed by server: 404 (NOT-FOUND) with message "NOT_FOUND - no exchange 'x' in vhost '/'"`), { code: 404 })
    expect(amqpError(e)).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, message: `404 NOT_FOUND - no exchange 'x' in vhost '/'` })
    expect(amqpError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toMatchObject({ code: 'UNREACHABLE' })
  })
})

describe('helpers', () => {
  it('pages, sorts and filters locally when the broker returns a plain array', () => {
    const all = ['b', 'a', 'c', 'ab'].map((name, i) => ({ name, messages: i }))
    expect(pageLocally(all, { page: 1, pageSize: 2, sort: 'name' }).items.map((i) => i.name)).toEqual(['a', 'ab'])
    expect(pageLocally(all, { page: 2, pageSize: 2, sort: 'messages', sortReverse: true }).items.map((i) => i.name)).toEqual(['a', 'b'])
    expect(pageLocally(all, { page: 1, pageSize: 10, filter: 'A' })).toMatchObject({ filteredCount: 2, totalCount: 4 })
    expect(pageLocally(all, { page: 1, pageSize: 10, filter: '^a', regex: true }).items.map((i) => i.name)).toEqual(['a', 'ab'])
    expect(() => pageLocally(all, { page: 1, pageSize: 10, filter: '(', regex: true })).toThrow(/regular expression/)
  })

  it('checks publish bodies against their encoding', () => {
    expect(encodeBody({ body: 'héllo', bodyEncoding: 'text' })).toEqual(Buffer.from('héllo'))
    expect(() => encodeBody({ body: '{x', bodyEncoding: 'json' })).toThrow(/not valid JSON/)
    expect(encodeBody({ body: 'AAH/', bodyEncoding: 'base64' })).toEqual(Buffer.from([0, 1, 255]))
    expect(() => encodeBody({ body: 'not base64!', bodyEncoding: 'base64' })).toThrow(/base64/)
  })

  it('turns management API messages into contract messages (bodies always base64)', () => {
    const m = toMessage({ payload: 'héllo', payload_encoding: 'string', payload_bytes: 6, exchange: 'x', routing_key: 'k', redelivered: true, properties: { headers: { a: 1 }, delivery_mode: 2, content_type: 'text/plain' } }, 3)
    expect(m).toMatchObject({ index: 3, exchange: 'x', routingKey: 'k', redelivered: true, payloadBytes: 6, properties: { headers: { a: 1 }, deliveryMode: 2, contentType: 'text/plain' } })
    expect(Buffer.from(m.payloadBase64, 'base64').toString()).toBe('héllo')
  })

  it('puts credentials and the vhost into the AMQP URL, escaped', () => {
    expect(amqpConnectUrl(target(), '/')).toBe('amqp://ops:p%40ss%2Fword@mq:5672/%2F')
    expect(amqpConnectUrl(target(), 'orders')).toBe('amqp://ops:p%40ss%2Fword@mq:5672/orders')
  })
})

describe('ManagementBackend over a fake management API', () => {
  it('asks the broker to sort, filter and page, with basic auth', async () => {
    const { impl, calls } = fakeFetch({ 'GET /api/queues/%2F': () => [200, { items: [{ name: 'q1', vhost: '/', messages: 5 }], page: 2, page_size: 1, filtered_count: 3, total_count: 9 }] })
    const page = await new ManagementBackend(target(), impl).listQueues({ vhost: '/', page: 2, pageSize: 1, sort: 'messagesReady', sortReverse: true, filter: 'q', regex: true })
    expect(page).toMatchObject({ page: 2, filteredCount: 3, totalCount: 9, items: [{ name: 'q1', messages: 5, type: 'classic' }] })
    const url = new URL(calls[0]!.url)
    expect(Object.fromEntries(url.searchParams)).toEqual({ page: '2', page_size: '1', pagination: 'true', name: 'q', use_regex: 'true', sort: 'messages_ready', sort_reverse: 'true' })
    expect(calls[0]!.headers.authorization).toBe('Basic ' + Buffer.from('ops:p@ss/word').toString('base64'))
  })

  it('browses RabbitMQ with get + ack_requeue_true and says what it costs', async () => {
    const messages = Array.from({ length: 5 }, (_, i) => ({ payload: `m${i}`, payload_encoding: 'string', routing_key: 'k', exchange: '', redelivered: false, properties: {} }))
    const { impl, calls } = fakeFetch({
      'GET /api/queues/%2F/q': () => [200, { name: 'q', vhost: '/', messages_ready: 5 }],
      'POST /api/queues/%2F/q/get': (body) => [200, messages.slice(0, (body as { count: number }).count)],
    })
    const r = await new ManagementBackend(target(), impl).browse({ vhost: '/', queue: 'q', offset: 2, limit: 2 })
    expect(calls[1]!.body).toMatchObject({ count: 4, ackmode: 'ack_requeue_true', encoding: 'base64' })
    expect(r.mode).toBe('requeue')
    expect(r.notice).toMatch(/redelivered/)
    expect(r.messages.map((m) => [m.index, Buffer.from(m.payloadBase64, 'base64').toString()])).toEqual([[2, 'm2'], [3, 'm3']])
  })

  it('browses the embedded broker without taking messages', async () => {
    const { impl, calls } = fakeFetch({
      'GET /api/queues/%2F/q/messages': () => [200, { total: 7, messages: [{ position: 4, payload: 'aGk=', payload_encoding: 'base64', routing_key: 'k', exchange: '', redelivered: false, properties: {} }] }],
    })
    const r = await new ManagementBackend(target({ embedded: true }), impl).browse({ vhost: '/', queue: 'q', offset: 4, limit: 1 })
    expect(new URL(calls[0]!.url).search).toBe('?offset=4&limit=1')
    expect(calls.some((c) => c.method === 'POST')).toBe(false)
    expect(r).toMatchObject({ mode: 'peek', total: 7, messages: [{ index: 4, payloadBase64: 'aGk=' }] })
  })

  it('derives rates from counters when the broker reports none', async () => {
    let publish = 100
    const { impl } = fakeFetch({ 'GET /api/overview': () => [200, { message_stats: { publish: (publish += 50) }, object_totals: { queues: 2 }, queue_totals: { messages: 3 } }] })
    const b = new ManagementBackend(target(), impl)
    await b.tick()
    await new Promise((r) => setTimeout(r, 100))
    const t = await b.tick()
    expect(t.totals).toMatchObject({ queues: 2, messages: 3 })
    expect(t.rates.publish).toBeGreaterThan(50)
  })

  it('reports an unreachable management API as data-friendly UNREACHABLE', async () => {
    const b = new ManagementBackend(target({ managementUrl: 'http://127.0.0.1:1' }))
    await expect(b.vhosts()).rejects.toMatchObject({ code: 'UNREACHABLE' })
  })
})
