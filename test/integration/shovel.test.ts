// Dynamic shovels inside the embedded broker, without RabbitMQ: amqp:// (this broker) URIs, src-delete-after,
// recovery after a broker restart (dataDir), and a destination broker that goes away and comes back.
// The 100,000-message round trip through a real RabbitMQ is in shovel-rabbitmq.test.ts.
import amqp, { type ChannelModel } from 'amqplib'
import { execFile } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { promisify } from 'node:util'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { startHttpBroker, type HttpBroker, type Json } from '../helpers/http'

const brokers: HttpBroker[] = []
const connections: ChannelModel[] = []
const dirs: string[] = []

afterEach(async () => {
  for (const c of connections.splice(0)) await c.close().catch(() => undefined)
})
afterAll(async () => {
  for (const b of brokers.splice(0)) await b.handle.close().catch(() => undefined)
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function broker(options: Parameters<typeof startHttpBroker>[0] = {}): Promise<HttpBroker> {
  const b = await startHttpBroker(options)
  brokers.push(b)
  return b
}

async function connect(url: string): Promise<ChannelModel> {
  const c = await amqp.connect(url)
  c.on('error', () => undefined)
  connections.push(c)
  return c
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: T | undefined
  for (;;) {
    last = await probe()
    if (last !== undefined) return last
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

const queueLength = (b: HttpBroker, queue: string, vhost = '/') => b.handle.core.vhosts.get(vhost)?.queues.get(queue)?.messageCount ?? -1

async function publish(url: string, queue: string, ids: number[], vhost = '/'): Promise<void> {
  const c = await connect(url + (vhost === '/' ? '' : `/${encodeURIComponent(vhost)}`))
  const ch = await c.createConfirmChannel()
  await ch.assertQueue(queue, { durable: true })
  for (const id of ids) ch.sendToQueue(queue, Buffer.from(`body ${id}`), { persistent: true, messageId: String(id) })
  await ch.waitForConfirms()
  await ch.close()
}

async function drain(url: string, queue: string, vhost = '/'): Promise<string[]> {
  const c = await connect(url + (vhost === '/' ? '' : `/${encodeURIComponent(vhost)}`))
  const ch = await c.createChannel()
  const ids: string[] = []
  for (;;) {
    const m = await ch.get(queue, { noAck: true })
    if (!m) break
    expect(m.content.toString()).toBe(`body ${m.properties.messageId}`)
    ids.push(String(m.properties.messageId))
  }
  await ch.close()
  return ids
}

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i)
const shovelStatus = async (b: HttpBroker, name: string): Promise<Json> => ((await b.get('/api/shovels')).body as Json[]).find((s) => s.name === name)

describe('dynamic shovels in the embedded broker', () => {
  it('moves messages between vhosts of this broker with amqp:// URIs (no password in the definition)', async () => {
    const b = await broker()
    expect((await b.call('PUT', '/api/vhosts/other')).status).toBe(201)
    await publish(b.amqpUrl, 'local.src', range(0, 200))
    const put = await b.call('PUT', '/api/parameters/shovel/%2f/local', {
      body: { value: { 'src-protocol': 'amqp091', 'src-uri': 'amqp://', 'src-queue': 'local.src', 'dest-protocol': 'amqp091', 'dest-uri': 'amqp:///other', 'dest-queue': 'local.dest' } },
    })
    expect(put.status).toBe(201)
    await waitFor('200 messages in other/local.dest', () => (queueLength(b, 'local.dest', 'other') === 200 ? true : undefined))
    const status = await waitFor('running', async () => {
      const s = await shovelStatus(b, 'local')
      return s?.state === 'running' ? s : undefined
    })
    expect(status).toMatchObject({ vhost: '/', type: 'dynamic', src_uri: 'amqp://', dest_uri: 'amqp:///other', src_queue: 'local.src', dest_queue: 'local.dest', src_protocol: 'amqp091', dest_protocol: 'amqp091' })
    expect(status.messages_transferred).toBe(200)
    expect(queueLength(b, 'local.src')).toBe(0)
    expect((await drain(b.amqpUrl, 'local.dest', 'other')).sort()).toEqual(range(0, 200).map(String).sort())
    // the shovel's connections appear like any client's, named as RabbitMQ names them
    const names = ((await b.get('/api/connections')).body as Json[]).map((c) => c.client_properties?.connection_name)
    expect(names.filter((n) => n === 'Shovel local')).toHaveLength(2)
    expect((await b.call('DELETE', '/api/parameters/shovel/%2f/local')).status).toBe(204)
    expect((await b.get('/api/shovels')).body).toEqual([])
    await waitFor('shovel connections closed', async () =>
      ((await b.get('/api/connections')).body as Json[]).some((c) => c.client_properties?.connection_name === 'Shovel local') ? undefined : true,
    )
  })

  it('on-publish and no-ack modes, an exchange source, forward and timestamp headers, publish properties', async () => {
    const b = await broker()
    const c = await connect(b.amqpUrl)
    const ch = await c.createChannel()
    await ch.assertExchange('ex.src', 'topic', { durable: true })
    for (const q of ['m.pub', 'm.noack']) await ch.assertQueue(q, { durable: true })
    await b_put(b, 'pub', { 'src-uri': 'amqp://', 'src-queue': 'm.pub.src', 'dest-uri': 'amqp://', 'dest-queue': 'm.pub', 'ack-mode': 'on-publish', 'src-prefetch-count': 10 })
    await b_put(b, 'noack', {
      'src-uri': 'amqp://',
      'src-exchange': 'ex.src',
      'src-exchange-key': 'a.#',
      'dest-uri': 'amqp://',
      'dest-exchange': 'amq.direct',
      'dest-exchange-key': 'noack',
      'ack-mode': 'no-ack',
      'dest-add-forward-headers': true,
      'dest-add-timestamp-header': true,
      'dest-publish-properties': { app_id: 'shovelled', delivery_mode: 2 },
    })
    await ch.bindQueue('m.noack', 'amq.direct', 'noack')
    await waitFor('both running', async () => (((await b.get('/api/shovels')).body as Json[]).every((s) => s.state === 'running') ? true : undefined))
    await publish(b.amqpUrl, 'm.pub.src', range(0, 500))
    for (const id of range(0, 100)) ch.publish('ex.src', id % 2 === 0 ? 'a.b' : 'b.a', Buffer.from(`body ${id}`), { messageId: String(id) })
    await waitFor('500 moved on publish', () => (queueLength(b, 'm.pub') === 500 && queueLength(b, 'm.pub.src') === 0 ? true : undefined))
    await waitFor('50 matching moved without acks', () => (queueLength(b, 'm.noack') === 50 ? true : undefined))
    expect((await drain(b.amqpUrl, 'm.pub')).sort()).toEqual(range(0, 500).map(String).sort())
    const m = await ch.get('m.noack', { noAck: true })
    expect(m && m.properties.appId).toBe('shovelled')
    expect(m && m.properties.deliveryMode).toBe(2)
    expect(m && m.properties.headers?.['x-shovelled']).toEqual([
      { 'shovelled-by': expect.stringMatching(/^warren@/), 'shovel-type': 'dynamic', 'shovel-name': 'noack', 'shovel-vhost': '/', 'src-uri': 'amqp://', 'src-exchange': 'ex.src', 'src-exchange-key': 'a.#', 'dest-uri': 'amqp://', 'dest-exchange': 'amq.direct', 'dest-exchange-key': 'noack' },
    ])
    expect(Math.abs(Number(m && m.properties.headers?.['x-shovelled-timestamp']) - Date.now() / 1000)).toBeLessThan(60)
    expect((await drain(b.amqpUrl, 'm.noack')).map(Number).every((id) => id % 2 === 0)).toBe(true)
    const status = ((await b.get('/api/shovels')).body as Json[]).find((s) => s.name === 'noack')
    expect(status).toMatchObject({ src_exchange: 'ex.src', src_exchange_key: 'a.#', dest_exchange: 'amq.direct', dest_exchange_key: 'noack', messages_transferred: 50 })
  })

  it("works with Debian's rabbitmqadmin (declare / list / delete parameter)", async () => {
    const cli = '/usr/lib/rabbitmq/lib/rabbitmq_server-3.10.8/plugins/rabbitmq_management-3.10.8/priv/www/cli/rabbitmqadmin'
    expect(existsSync(cli)).toBe(true)
    const b = await broker()
    const admin = async (...args: string[]) => (await promisify(execFile)('/usr/bin/python3', [cli, '-H', '127.0.0.1', '-P', String(b.handle.httpPort), '-u', 'guest', '-p', 'guest', ...args], { timeout: 20_000 })).stdout
    const value = { 'src-uri': 'amqp://', 'src-queue': 'adm.src', 'dest-uri': 'amqp://', 'dest-queue': 'adm.dest' }
    expect(await admin('declare', 'parameter', 'component=shovel', 'name=adm', `value=${JSON.stringify(value)}`)).toContain('parameter declared')
    expect(JSON.parse(await admin('-f', 'raw_json', 'list', 'parameters'))).toEqual([{ vhost: '/', component: 'shovel', name: 'adm', value: Object.fromEntries(Object.entries(value).sort()) }])
    await waitFor('running', async () => ((await shovelStatus(b, 'adm'))?.state === 'running' ? true : undefined))
    expect(await admin('delete', 'parameter', 'component=shovel', 'name=adm')).toContain('parameter deleted')
    expect((await b.get('/api/shovels')).body).toEqual([])
  })

  it('answers a bad definition with 400 and RabbitMQ\'s reason', async () => {
    const b = await broker()
    const r = await b.call('PUT', '/api/parameters/shovel/%2f/bad', { body: { value: { 'src-uri': 'amqp://', 'src-queue': 'q', 'src-exchange': 'x', 'dest-uri': 'amqp://' } } })
    expect(r.status).toBe(400)
    expect(r.body).toEqual({ error: 'bad_request', reason: "Validation failed\n\nCannot specify 'src-exchange' and 'src-queue'\n" })
    expect((await b.get('/api/parameters/shovel/%2f/bad')).status).toBe(404)
  })

  it('src-delete-after: queue-length moves what the queue held and deletes itself; a number moves exactly that many', async () => {
    const b = await broker()
    await publish(b.amqpUrl, 'da.src', range(0, 50))
    await b.call('PUT', '/api/parameters/shovel/%2f/da', { body: { value: { 'src-uri': 'amqp://', 'src-queue': 'da.src', 'dest-uri': 'amqp://', 'dest-queue': 'da.dest', 'src-delete-after': 'queue-length' } } })
    await waitFor('shovel deleted itself', async () => ((await b.get('/api/parameters/shovel/%2f/da')).status === 404 ? true : undefined))
    expect(await shovelStatus(b, 'da')).toBeUndefined()
    expect(queueLength(b, 'da.dest')).toBe(50)
    expect(queueLength(b, 'da.src')).toBe(0)

    await publish(b.amqpUrl, 'dn.src', range(0, 20))
    await b.call('PUT', '/api/parameters/shovel/%2f/dn', { body: { value: { 'src-uri': 'amqp://', 'src-queue': 'dn.src', 'dest-uri': 'amqp://', 'dest-exchange': 'amq.direct', 'dest-exchange-key': 'dn', 'src-delete-after': 5, 'src-prefetch-count': 100 } } })
    const c = await connect(b.amqpUrl)
    const ch = await c.createChannel()
    await ch.assertQueue('dn.dest')
    await ch.bindQueue('dn.dest', 'amq.direct', 'dn')
    await waitFor('shovel dn deleted itself', async () => ((await b.get('/api/parameters/shovel/%2f/dn')).status === 404 ? true : undefined))
    await waitFor('the 15 others back in dn.src', () => (queueLength(b, 'dn.src') === 15 ? true : undefined))
    expect(queueLength(b, 'dn.dest')).toBe(5)
    // the first five, in order; the rest untouched and still in order
    expect(await drain(b.amqpUrl, 'dn.dest')).toEqual(['0', '1', '2', '3', '4'])
    expect(await drain(b.amqpUrl, 'dn.src')).toEqual(range(5, 20).map(String))
  })

  it('is recovered from the data directory and runs again after a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-shovel-'))
    dirs.push(dataDir)
    let b = await broker({ dataDir })
    const value = { 'src-uri': 'amqp://', 'src-queue': 'r.src', 'dest-uri': 'amqp://', 'dest-queue': 'r.dest', 'reconnect-delay': 1 }
    expect((await b.call('PUT', '/api/parameters/shovel/%2f/persisted', { body: { value } })).status).toBe(201)
    await waitFor('running', async () => ((await shovelStatus(b, 'persisted'))?.state === 'running' ? true : undefined))
    await b.handle.close()
    brokers.splice(brokers.indexOf(b), 1)
    b = await broker({ dataDir })
    expect((await b.get('/api/parameters/shovel/%2f/persisted')).body).toEqual({ value: Object.fromEntries(Object.entries(value).sort()), vhost: '/', component: 'shovel', name: 'persisted' })
    await waitFor('running after the restart', async () => ((await shovelStatus(b, 'persisted'))?.state === 'running' ? true : undefined))
    await publish(b.amqpUrl, 'r.src', range(0, 10))
    await waitFor('10 messages moved after the restart', () => (queueLength(b, 'r.dest') === 10 ? true : undefined))
    const exported = (await b.get('/api/definitions')).body
    expect(exported.parameters).toEqual([{ value: Object.fromEntries(Object.entries(value).sort()), vhost: '/', component: 'shovel', name: 'persisted' }])
  })

  it('shows the error when the destination goes away, resumes when it is back, and loses nothing (on-confirm)', async () => {
    const destDir = mkdtempSync(join(tmpdir(), 'warren-shovel-dest-'))
    dirs.push(destDir)
    let dest = await broker({ dataDir: destDir })
    const destPort = dest.handle.port
    const src = await broker()
    // a wrong password first: the shovel does not run and says why
    await b_put(src, 'away', { 'src-uri': 'amqp://', 'src-queue': 'away.src', 'dest-uri': `amqp://guest:wrong@127.0.0.1:${destPort}`, 'dest-queue': 'away.dest', 'reconnect-delay': 0.2 })
    const refused = await waitFor('refused login shown', async () => {
      const s = await shovelStatus(src, 'away')
      return s?.last_error ? s : undefined
    })
    expect(refused.last_error).toContain('ACCESS_REFUSED')
    expect(refused.state).not.toBe('running')
    // then the right one (with a query, which status hides along with the credentials)
    const value = { 'src-uri': 'amqp://', 'src-queue': 'away.src', 'dest-uri': `amqp://guest:guest@127.0.0.1:${destPort}/%2f?heartbeat=5`, 'dest-queue': 'away.dest', 'reconnect-delay': 0.2 }
    expect((await src.call('PUT', '/api/parameters/shovel/%2f/away', { body: { value } })).status).toBe(204)
    const running = await waitFor('running', async () => {
      const s = await shovelStatus(src, 'away')
      return s?.state === 'running' ? s : undefined
    })
    expect(running.dest_uri).toBe(`amqp://127.0.0.1:${destPort}/%2f`)
    await publish(src.amqpUrl, 'away.src', range(0, 300))
    await waitFor('first batch through', () => (queueLength(dest, 'away.dest') === 300 ? true : undefined))

    await dest.handle.close()
    brokers.splice(brokers.indexOf(dest), 1)
    const down = await waitFor('terminated or starting with the error shown', async () => {
      const s = await shovelStatus(src, 'away')
      return s && s.state !== 'running' && s.last_error ? s : undefined
    })
    expect(['terminated', 'starting']).toContain(down.state)
    expect(typeof down.last_error_at).toBe('string')
    await publish(src.amqpUrl, 'away.src', range(300, 600))
    await new Promise((r) => setTimeout(r, 300))
    expect(queueLength(src, 'away.src')).toBe(300)

    dest = await broker({ dataDir: destDir, port: destPort })
    await waitFor('running again', async () => ((await shovelStatus(src, 'away'))?.state === 'running' ? true : undefined))
    await waitFor('all 600 at the destination', () => (queueLength(dest, 'away.dest') >= 600 && queueLength(src, 'away.src') === 0 ? true : undefined))
    const got = await drain(dest.amqpUrl, 'away.dest')
    expect(new Set(got)).toEqual(new Set(range(0, 600).map(String)))
  })
})

async function b_put(b: HttpBroker, name: string, value: Record<string, unknown>): Promise<void> {
  const r = await b.call('PUT', `/api/parameters/shovel/%2f/${encodeURIComponent(name)}`, { body: { value } })
  expect(r.status).toBe(201)
}
