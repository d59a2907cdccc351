// The console's dead-letters area against the embedded broker (in-process, with its HTTP API): discovery through
// arguments and policies, grouping by reason, fingerprints that match between the HTTP browse and AMQP deliveries,
// replay of one / a filter, delete, dry run, export → import, the audit log and read-only refusal.
import { randomBytes } from 'node:crypto'
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { dispatchCommand, type CommandHandlers, type CommandName, type CommandRequest, type CommandResponse, type DeadLetterJob } from '../../main/contract'
import { ProfileStore } from '../../main/console/profiles'
import { AesGcmSecretBox } from '../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../main/console/service'
import { fingerprint, fromAmqpProperties } from '../../main/console/dead-letters/model'

let broker: BrokerHandle
let service: ConsoleService
let handlers: CommandHandlers
let conn: amqp.ChannelModel
let ch: amqp.ConfirmChannel
const events: { event: string; payload: unknown }[] = []

async function cmd<K extends CommandName>(name: K, req: CommandRequest<K>): Promise<CommandResponse<K>> {
  const r = await dispatchCommand(handlers, name, req)
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`)
  return r.value as CommandResponse<K>
}

async function finished(job: DeadLetterJob, timeoutMs = 30_000): Promise<DeadLetterJob> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const j = (await cmd('deadLetters.jobs', undefined)).find((x) => x.id === job.id)
    if (j && j.state !== 'running' && j.state !== 'paused') return j
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error('job did not finish')
}

beforeAll(async () => {
  broker = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0 })
  const profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), {
    amqpUrl: `amqp://127.0.0.1:${broker.port}`,
    managementUrl: `http://127.0.0.1:${broker.httpPort}`,
  })
  service = createConsoleService({ profiles, emit: (event, payload) => events.push({ event, payload }) })
  handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
  ch = await conn.createConfirmChannel()
  // orders → (reject / ttl / max length) → dlx (fanout) → orders.dlq; a second source dead-letters via a policy
  await ch.assertExchange('dlx', 'fanout', { durable: true })
  await ch.assertQueue('orders.dlq', { durable: true })
  await ch.bindQueue('orders.dlq', 'dlx', '')
  await ch.assertExchange('shop', 'direct', { durable: true })
  await ch.assertQueue('orders', { durable: true, arguments: { 'x-dead-letter-exchange': 'dlx', 'x-max-length': 3 } })
  await ch.bindQueue('orders', 'shop', 'order.created')
  await ch.assertQueue('payments', { durable: true, arguments: { 'x-message-ttl': 50 } })
  await ch.assertQueue('policy.dlq', { durable: true })
  const res = await fetch(`http://127.0.0.1:${broker.httpPort}/api/policies/%2F/dl`, {
    method: 'PUT',
    headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64'), 'content-type': 'application/json' },
    body: JSON.stringify({ pattern: '^payments$', 'apply-to': 'queues', definition: { 'dead-letter-exchange': '', 'dead-letter-routing-key': 'policy.dlq' } }),
  })
  expect(res.status).toBeLessThan(300)

  // rejected: two orders consumed and rejected
  for (let i = 0; i < 2; i++) ch.publish('shop', 'order.created', Buffer.from(JSON.stringify({ id: i, kind: 'rejected' })), { persistent: true, messageId: `r${i}`, headers: { tenant: 'acme' } })
  await ch.waitForConfirms()
  for (let i = 0; i < 2; i++) {
    const m = await ch.get('orders')
    if (!m) throw new Error('no message')
    ch.reject(m, false)
  }
  // maxlen: 5 published into a max-length-3 queue → 2 dead-lettered
  for (let i = 0; i < 5; i++) ch.publish('shop', 'order.created', Buffer.from(JSON.stringify({ id: 10 + i, kind: 'maxlen' })), { persistent: true, messageId: `m${i}` })
  await ch.waitForConfirms()
  // expired: 3 payments with a 50 ms TTL, dead-lettered by the policy to policy.dlq
  for (let i = 0; i < 3; i++) ch.sendToQueue('payments', Buffer.from(`payment ${i}`), { messageId: `e${i}` })
  await ch.waitForConfirms()
  await new Promise((r) => setTimeout(r, 400))
}, 30_000)

afterAll(async () => {
  await conn?.close().catch(() => {})
  await service?.close()
  await broker?.close()
})

describe('dead letters on the embedded broker', () => {
  it('finds the dead-letter queues from arguments and from a policy, with sources and evidence', async () => {
    const scan = await cmd('deadLetters.scan', {})
    expect(scan.browseMode).toBe('peek')
    expect(scan.mechanism).toMatch(/confirm/)
    const byName = Object.fromEntries(scan.queues.map((q) => [q.name, q]))
    expect(byName['orders.dlq']).toMatchObject({ messages: 4, scanned: 4, sources: ['orders'], deadLetterExchanges: ['dlx'] })
    expect(byName['orders.dlq']!.evidence).toEqual(expect.arrayContaining(['dlx-target', 'x-death']))
    expect(byName['policy.dlq']).toMatchObject({ messages: 3, sources: ['payments'] })
    expect(byName['orders']).toBeUndefined()
  })

  it('groups by reason, source queue and original route, with counts and a time range', async () => {
    const list = await cmd('deadLetters.list', { offset: 0, limit: 100 })
    expect(list.total).toBe(7)
    const reasons = Object.fromEntries(list.groups.byReason.map((g) => [g.key, g.count]))
    expect(reasons).toEqual({ rejected: 2, maxlen: 2, expired: 3 })
    expect(Object.fromEntries(list.groups.bySourceQueue.map((g) => [g.key, g.count]))).toEqual({ orders: 4, payments: 3 })
    expect(list.groups.byRoute.map((g) => g.key)).toEqual(expect.arrayContaining(['shop → order.created', '(default) → payments']))
    expect(list.firstAt).toBeLessThanOrEqual(list.lastAt!)
    expect(list.lastAt).toBeGreaterThan(Date.now() - 60_000)
    const rejected = list.messages.find((m) => m.properties.messageId === 'r0')!
    expect(rejected.deaths[0]).toMatchObject({ reason: 'rejected', queue: 'orders', exchange: 'shop', routingKeys: ['order.created'], count: 1 })
  })

  it('filters by reason, header, body text and JSON path', async () => {
    const f = async (filter: object) => (await cmd('deadLetters.list', { offset: 0, limit: 100, filter })).matched
    expect(await f({ reasons: ['expired'] })).toBe(3)
    expect(await f({ headers: [{ name: 'tenant', value: 'acm' }] })).toBe(2)
    expect(await f({ bodyText: 'PAYMENT 1' })).toBe(1)
    expect(await f({ jsonPath: { path: '$.id', op: 'gt', value: '10' } })).toBe(1)
    expect(await f({ jsonPath: { path: '$.kind', op: 'eq', value: 'maxlen' } })).toBe(2)
    expect(await f({ sourceQueues: ['payments'], from: Date.now() + 60_000 })).toBe(0)
  })

  it('computes the same fingerprint from the HTTP browse and from an AMQP delivery', async () => {
    const list = await cmd('deadLetters.list', { offset: 0, limit: 100, filter: { queues: ['orders.dlq'] } })
    const c2 = await conn.createChannel()
    const seen: string[] = []
    for (;;) {
      const m = await c2.get('orders.dlq')
      if (!m) break
      seen.push(fingerprint(m.content, fromAmqpProperties(m.properties as never)))
    }
    await c2.close() // unacked: back in the queue
    expect(seen.sort()).toEqual(list.messages.map((m) => m.fingerprint).sort())
  })

  it('dry-runs, then replays one message to its original route where a consumer gets it, with replay headers', async () => {
    const list = await cmd('deadLetters.list', { offset: 0, limit: 100, filter: { reasons: ['rejected'] } })
    const one = list.messages.find((m) => m.properties.messageId === 'r1')!
    const dry = await cmd('deadLetters.dryRun', { selection: [one], target: { kind: 'original' }, deathHeaders: 'keep' })
    expect(dry.items).toHaveLength(1)
    expect(dry.items[0]).toMatchObject({ exchange: 'shop', routingKeys: ['order.created'], queues: ['orders'] })
    // make room in orders (max length 3) so the replay is not itself dead-lettered
    await ch.purgeQueue('orders')
    const job = await finished(await cmd('deadLetters.replay', { selection: [one], target: { kind: 'original' }, deathHeaders: 'keep' }))
    expect(job).toMatchObject({ state: 'done', replayed: 1, failed: 0 })
    const got = await ch.get('orders', { noAck: true })
    expect(got && got.properties.messageId).toBe('r1')
    const headers = (got as amqp.GetMessage).properties.headers!
    expect(headers['x-warren-replay-count']).toBe(1)
    expect(headers['x-warren-replayed-at']).toBeTruthy()
    expect((headers['x-death'] as unknown[]).length).toBe(1)
    expect(headers.tenant).toBe('acme')
    // the other rejected message is still in the dead-letter queue, and nothing else moved
    const after = await cmd('deadLetters.list', { offset: 0, limit: 100, filter: { queues: ['orders.dlq'] } })
    // in their order: the requeued ones went back to their places
    expect(after.messages.map((m) => m.properties.messageId)).toEqual(['r0', 'm0', 'm1'])
  })

  it('replays all matching a filter to a chosen queue, renaming x-death', async () => {
    await ch.assertQueue('replayed', { durable: true })
    const job = await finished(await cmd('deadLetters.replay', { filter: { reasons: ['expired'] }, target: { kind: 'custom', exchange: '', routingKey: 'replayed' }, deathHeaders: 'rename', rateLimit: 100 }))
    expect(job).toMatchObject({ state: 'done', replayed: 3 })
    const m = await ch.get('replayed', { noAck: true })
    expect(m).toBeTruthy()
    const h = (m as amqp.GetMessage).properties.headers!
    expect(h['x-death']).toBeUndefined()
    expect((h['x-warren-original-death'] as { reason: string }[])[0]!.reason).toBe('expired')
    expect((await ch.checkQueue('policy.dlq')).messageCount).toBe(0)
  })

  it('finds a queue by the x-death its messages carry, but not one holding replayed messages', async () => {
    await ch.assertQueue('stray', { durable: true })
    await ch.assertQueue('kept', { durable: true })
    const xDeath = [{ count: 1, reason: 'expired', queue: 'elsewhere', time: { '!': 'timestamp', value: Math.floor(Date.now() / 1000) }, exchange: '', 'routing-keys': ['elsewhere'] }]
    ch.sendToQueue('stray', Buffer.from('moved by a shovel'), { headers: { 'x-death': xDeath } })
    ch.sendToQueue('stray', Buffer.from('plain'), {})
    await ch.waitForConfirms()
    await cmd('deadLetters.scan', {})
    const list = await cmd('deadLetters.list', { offset: 0, limit: 100, filter: { queues: ['orders.dlq'] } })
    const job = await finished(await cmd('deadLetters.replay', { selection: [list.messages[0]!], target: { kind: 'custom', exchange: '', routingKey: 'kept' }, deathHeaders: 'keep' }))
    expect(job.replayed).toBe(1)
    const scan = await cmd('deadLetters.scan', {})
    const stray = scan.queues.find((q) => q.name === 'stray')
    expect(stray?.evidence).toEqual(['x-death'])
    expect(scan.queues.find((q) => q.name === 'kept')).toBeUndefined()
    // only the dead letter in 'stray' is listed, and a replay of "all" there leaves the plain message alone
    expect((await cmd('deadLetters.list', { offset: 0, limit: 10, filter: { queues: ['stray'] } })).messages.map((m) => m.reason)).toEqual(['expired'])
    const all = await finished(await cmd('deadLetters.delete', { filter: { queues: ['stray'] } }))
    expect(all).toMatchObject({ deleted: 1, skipped: 1 })
    const left = await ch.get('stray', { noAck: true })
    expect(left && left.content.toString()).toBe('plain')
    // put the replayed one back where the next tests expect it
    const back = await ch.get('kept', { noAck: true })
    expect(back).toBeTruthy()
    ch.sendToQueue('orders.dlq', (back as amqp.GetMessage).content, { ...(back as amqp.GetMessage).properties, headers: { ...(back as amqp.GetMessage).properties.headers, 'x-warren-replayed-at': undefined, 'x-warren-replay-count': undefined, 'x-warren-replay-id': undefined } })
    await ch.waitForConfirms()
    await cmd('deadLetters.scan', {})
  })

  it('replays one message with an edited body and headers; editing refuses more than one', async () => {
    await ch.assertQueue('edited', { durable: true })
    const list = await cmd('deadLetters.list', { offset: 0, limit: 100, filter: { queues: ['orders.dlq'], reasons: ['maxlen'] } })
    const one = list.messages[0]!
    const headers = { ...one.properties.headers!, fixed: 'yes' }
    const job = await finished(await cmd('deadLetters.replay', { selection: [one], target: { kind: 'custom', exchange: '', routingKey: 'edited' }, deathHeaders: 'keep', edit: { body: '{"patched":true}', bodyEncoding: 'json', headers } }))
    expect(job.replayed).toBe(1)
    const got = (await ch.get('edited', { noAck: true })) as amqp.GetMessage
    expect(got.content.toString()).toBe('{"patched":true}')
    expect(got.properties.messageId).toBe(one.properties.messageId)
    expect(got.properties.headers).toMatchObject({ fixed: 'yes', 'x-warren-replay-count': 1 })
    // x-death from the edited JSON goes back as a table with an AMQP timestamp
    const death = (got.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!
    expect(death).toMatchObject({ reason: 'maxlen', queue: 'orders' })
    expect(death.time).toEqual({ '!': 'timestamp', value: one.deaths[0]!.time! / 1000 })
    const two = await dispatchCommand(handlers, 'deadLetters.replay', { selection: list.messages.slice(0, 2), target: { kind: 'original' }, deathHeaders: 'keep', edit: { body: 'x' } })
    expect(two).toMatchObject({ ok: false, error: { code: 'INVALID' } })
    // put it back for the next tests
    ch.sendToQueue('orders.dlq', Buffer.from(Buffer.from(one.payloadBase64, 'base64')), { persistent: true, messageId: one.properties.messageId, headers: one.properties.headers })
    await ch.waitForConfirms()
    await cmd('deadLetters.scan', {})
  })

  it('leaves an unroutable replay in the dead-letter queue', async () => {
    const job = await finished(await cmd('deadLetters.replay', { filter: { queues: ['orders.dlq'], reasons: ['maxlen'] }, target: { kind: 'custom', exchange: '', routingKey: 'no-such-queue' }, deathHeaders: 'keep' }))
    expect(job).toMatchObject({ state: 'done', replayed: 0, unroutable: 2 })
    expect((await ch.checkQueue('orders.dlq')).messageCount).toBe(3)
  })

  it('exports, deletes, imports back, and writes everything to the audit log', async () => {
    const exported = await cmd('deadLetters.export', { filter: { queues: ['orders.dlq'] } })
    expect(exported.count).toBe(3)
    expect(exported.content.split('\n')[0]).toContain('warren-dead-letters')
    const job = await finished(await cmd('deadLetters.delete', { filter: { queues: ['orders.dlq'] } }))
    expect(job).toMatchObject({ state: 'done', deleted: 3 })
    expect((await ch.checkQueue('orders.dlq')).messageCount).toBe(0)
    expect(await cmd('deadLetters.import', { content: exported.content })).toEqual({ imported: 3 })
    const list = await cmd('deadLetters.list', { offset: 0, limit: 100, filter: { queues: ['orders.dlq'] } })
    expect(list.messages.map((m) => m.properties.messageId).sort()).toEqual(['m0', 'm1', 'r0'])
    expect(list.groups.byReason.map((g) => g.key).sort()).toEqual(['maxlen', 'rejected'])
    // x-death time survives as an AMQP timestamp: the fingerprints are those of the export
    const before = exported.content.trim().split('\n').slice(1).map((l) => (JSON.parse(l) as { fingerprint: string }).fingerprint).sort()
    expect(list.messages.map((m) => m.fingerprint).sort()).toEqual(before)
    await cmd('deadLetters.purge', { queue: 'orders.dlq' })
    const audit = await cmd('deadLetters.audit', {})
    expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['replay', 'delete', 'purge', 'import', 'export']))
    expect(audit[0]).toMatchObject({ action: 'purge', queues: ['orders.dlq'], profileName: expect.any(String) })
    expect(events.some((e) => e.event === 'deadLetters.job')).toBe(true)
  })

  it('pauses, resumes and cancels a job; cancelled messages stay in the queue', async () => {
    for (let i = 0; i < 200; i++) ch.sendToQueue('orders.dlq', Buffer.from(`x${i}`), { persistent: true })
    await ch.waitForConfirms()
    await cmd('deadLetters.scan', {})
    await ch.assertQueue('slow.target', { durable: true })
    const job = await cmd('deadLetters.replay', { filter: { queues: ['orders.dlq'] }, target: { kind: 'custom', exchange: '', routingKey: 'slow.target' }, deathHeaders: 'keep', rateLimit: 50 })
    await new Promise((r) => setTimeout(r, 300))
    const paused = await cmd('deadLetters.job.pause', { id: job.id })
    expect(paused.state).toBe('paused')
    await new Promise((r) => setTimeout(r, 300))
    const p1 = (await cmd('deadLetters.jobs', undefined)).find((j) => j.id === job.id)!.processed
    await new Promise((r) => setTimeout(r, 400))
    expect((await cmd('deadLetters.jobs', undefined)).find((j) => j.id === job.id)!.processed).toBe(p1)
    expect((await cmd('deadLetters.job.resume', { id: job.id })).state).toBe('running')
    await new Promise((r) => setTimeout(r, 300))
    const cancelled = await cmd('deadLetters.job.cancel', { id: job.id })
    expect(cancelled.state).toBe('cancelled')
    expect(cancelled.replayed).toBeGreaterThan(p1)
    expect(cancelled.replayed).toBeLessThan(200)
    const moved = (await ch.checkQueue('slow.target')).messageCount
    const left = (await ch.checkQueue('orders.dlq')).messageCount
    expect(moved).toBe(cancelled.replayed)
    expect(moved + left).toBe(200)
  })

  it('refuses replay, delete, purge and import on a read-only profile (reads still work)', async () => {
    // a job running when the profile changes stops, leaving what it did not move in the dead-letter queue
    const before = (await ch.checkQueue('orders.dlq')).messageCount + (await ch.checkQueue('slow.target')).messageCount
    const running = await cmd('deadLetters.replay', { filter: { queues: ['orders.dlq'] }, target: { kind: 'custom', exchange: '', routingKey: 'slow.target' }, deathHeaders: 'keep', rateLimit: 20 })
    await new Promise((r) => setTimeout(r, 300))
    const p = await cmd('profiles.add', { name: 'ro', amqpUrl: `amqp://127.0.0.1:${broker.port}`, managementUrl: `http://127.0.0.1:${broker.httpPort}`, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: true })
    await cmd('profiles.activate', { id: p.id })
    const stopped = await finished(running)
    expect(stopped.state).toBe('cancelled')
    expect(stopped.error).toMatch(/profile changed/)
    expect(stopped.replayed).toBeLessThan(before)
    await new Promise((r) => setTimeout(r, 200))
    expect((await ch.checkQueue('orders.dlq')).messageCount + (await ch.checkQueue('slow.target')).messageCount).toBe(before)
    expect((await cmd('deadLetters.scan', {})).queues.length).toBeGreaterThan(0)
    const attempts = [
      dispatchCommand(handlers, 'deadLetters.replay', { filter: {}, target: { kind: 'original' }, deathHeaders: 'keep' }),
      dispatchCommand(handlers, 'deadLetters.delete', { filter: {} }),
      dispatchCommand(handlers, 'deadLetters.purge', { queue: 'orders.dlq' }),
      dispatchCommand(handlers, 'deadLetters.import', { content: '{"format":"warren-dead-letters","version":1}' }),
    ]
    for (const r of await Promise.all(attempts)) expect(r).toMatchObject({ ok: false, error: { code: 'READ_ONLY' } })
    expect((await ch.checkQueue('orders.dlq')).messageCount).toBeGreaterThan(0)
    await cmd('profiles.activate', { id: 'embedded' })
  })
})
