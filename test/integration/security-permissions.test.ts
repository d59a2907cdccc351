// The permission matrix: users with different configure/write/read patterns and tags × every AMQP operation and every
// HTTP API operation that touches a resource, generated from two tables. Each operation lists the permissions it
// needs, in the order RabbitMQ checks them (rabbit_channel; the management plugin runs the same channel methods); the
// expected verdict of each cell follows from the user's patterns: allowed (and the change is visible), or refused with
// the exact reply — 403 ACCESS_REFUSED "access to <kind> '<name>' in vhost '/' refused for user '<user>'" over AMQP,
// RabbitMQ's JSON error over HTTP — and nothing changed. The same matrix runs against a private RabbitMQ 3.10 node
// (test/e2e/helpers/rabbitmq.ts; the suite fails if it cannot start), so each cell is RabbitMQ's behaviour too.
import amqp, { type Channel, type ChannelModel } from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { startRabbitMQNode, type RabbitMQNode } from '../e2e/helpers/rabbitmq'
import { rnd } from '../helpers/broker'
import { Enc, methodFrame, PROTOCOL_HEADER, RawClient } from '../helpers/raw'

type Access = 'configure' | 'write' | 'read'
type Kind = 'exchange' | 'queue'
/** the resources a cell may use; each gets a fresh name per cell, '<role>.<cell id>' */
type Role = 'x' | 'q' | 'src' | 'dst' | 'ae' | 'dlx'
type Names = Record<Role, string>
type Need = [Access, Kind, Role | 'amq.default']

interface User {
  name: string
  tags: string[]
  /** undefined: no permission in vhost '/' at all */
  permission?: { configure: string; write: string; read: string }
}

const suffix = rnd(3)
const USERS: User[] = [
  { name: `full-${suffix}`, tags: ['administrator'], permission: { configure: '.*', write: '.*', read: '.*' } },
  { name: `configurer-${suffix}`, tags: ['policymaker'], permission: { configure: '.*', write: '', read: '' } },
  { name: `writer-${suffix}`, tags: ['monitoring'], permission: { configure: '', write: '.*', read: '' } },
  { name: `reader-${suffix}`, tags: ['management'], permission: { configure: '', write: '', read: '.*' } },
  // per-resource patterns: configure x.* and q.*, write q.*, dst.* and ae.*, read src.* and q.*
  { name: `mixed-${suffix}`, tags: ['management'], permission: { configure: '^(x|q)\\.', write: '^(q|dst|ae)\\.', read: '^(src|q)\\.' } },
  { name: `nobody-${suffix}`, tags: ['management'] },
]

/** Whether a user's pattern admits a resource (RabbitMQ: an unanchored regex; the empty pattern admits nothing). */
function permits(user: User, access: Access, name: string): boolean {
  const pattern = user.permission?.[access]
  return pattern !== undefined && pattern !== '' && new RegExp(pattern).test(name)
}

function resourceName(role: Role | 'amq.default', names: Names): string {
  return role === 'amq.default' ? 'amq.default' : names[role]
}

/** The first permission the user lacks, as RabbitMQ words it; undefined when every check passes. */
function firstRefusal(user: User, needs: Need[], names: Names): string | undefined {
  for (const [access, kind, role] of needs) {
    const name = resourceName(role, names)
    if (!permits(user, access, name)) return `access to ${kind} '${name}' in vhost '/' refused for user '${user.name}'`
  }
  return undefined
}

// --- the broker under test, behind one small interface -------------------------------------------------------------

interface Target {
  amqpUrl(user: string): string
  http(method: string, path: string, user: string, body?: unknown): Promise<{ status: number; body: unknown }>
}

function targetFor(amqpBase: string, httpBase: string): Target {
  return {
    amqpUrl: (user) => amqpBase.replace('amqp://', `amqp://${encodeURIComponent(user)}:${encodeURIComponent(user === 'guest' ? 'guest' : `pw-${user}`)}@`),
    async http(method, path, user, body) {
      const password = user === 'guest' ? 'guest' : `pw-${user}`
      const response = await fetch(httpBase + path, {
        method,
        headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      const text = await response.text()
      return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) }
    },
  }
}

async function createUsers(target: Target): Promise<void> {
  for (const user of USERS) {
    const created = await target.http('PUT', `/api/users/${user.name}`, 'guest', { password: `pw-${user.name}`, tags: user.tags.join(',') })
    expect(created.status).toBe(201)
    if (user.permission) expect((await target.http('PUT', `/api/permissions/%2F/${user.name}`, 'guest', user.permission)).status).toBe(201)
  }
}

// --- set-up and inspection as guest, over AMQP (the same on both brokers, and immediate) -----------------------------

let guestConn: ChannelModel | undefined
async function asGuest<T>(target: Target, run: (ch: Channel) => Promise<T>): Promise<T> {
  guestConn ??= await amqp.connect(target.amqpUrl('guest'))
  const ch = await guestConn.createChannel()
  ch.on('error', () => {})
  try {
    return await run(ch)
  } finally {
    await ch.close().catch(() => {})
  }
}
const exchangeExists = (t: Target, name: string) => asGuest(t, (ch) => ch.checkExchange(name).then(() => true, () => false))
const queueExists = (t: Target, name: string) => asGuest(t, (ch) => ch.checkQueue(name).then(() => true, () => false))
const messageCount = (t: Target, name: string) => asGuest(t, async (ch) => (await ch.checkQueue(name)).messageCount)
/** whether dst (queue or exchange) is bound to src with key 'k': unbinding is idempotent, so probe by routing */
async function routes(t: Target, src: string, queue: string): Promise<boolean> {
  return asGuest(t, async (ch) => {
    await ch.purgeQueue(queue)
    ch.publish(src, 'k', Buffer.from('probe'))
    await ch.checkQueue(queue)
    const got = await ch.get(queue, { noAck: true })
    return got !== false
  })
}

interface Setup {
  exchanges?: Role[]
  queues?: Role[]
  /** [destination, source] bound with key 'k' */
  bindings?: [Role, Role][]
  /** messages put in q before the operation */
  messages?: number
}

async function setUp(t: Target, names: Names, setup: Setup): Promise<void> {
  await asGuest(t, async (ch) => {
    for (const role of setup.exchanges ?? []) await ch.assertExchange(names[role], 'direct', { durable: false })
    for (const role of setup.queues ?? []) await ch.assertQueue(names[role], { durable: false })
    for (const [destination, source] of setup.bindings ?? []) {
      if (setup.queues?.includes(destination)) await ch.bindQueue(names[destination], names[source], 'k')
      else await ch.bindExchange(names[destination], names[source], 'k')
    }
    for (let i = 0; i < (setup.messages ?? 0); i++) ch.sendToQueue(names.q, Buffer.from(`m${i}`))
    await ch.checkExchange('amq.direct')
  })
}

function namesFor(cell: string): Names {
  const id = `${cell}.${rnd(3)}`
  return { x: `x.${id}`, q: `q.${id}`, src: `src.${id}`, dst: `dst.${id}`, ae: `ae.${id}`, dlx: `dlx.${id}` }
}

// --- AMQP operations ---------------------------------------------------------------------------------------------

interface AmqpOperation {
  name: string
  setup: Setup
  run(ch: Channel, n: Names): Promise<unknown>
  needs: Need[]
  /** whether the operation's effect is visible (checked as guest): true after it ran, false when it was refused */
  effect?(t: Target, n: Names): Promise<boolean>
  /** the operation names a resource that does not exist: once every permission check passes, this 404 NOT_FOUND */
  missing?(n: Names): string
}

/** a round trip that needs no permission, so an asynchronous channel error (after basic.publish) has arrived */
const roundTrip = (ch: Channel) => ch.checkExchange('amq.direct')

const AMQP_OPERATIONS: AmqpOperation[] = [
  { name: 'exchange.declare', setup: {}, run: (ch, n) => ch.assertExchange(n.x, 'direct', { durable: false }), needs: [['configure', 'exchange', 'x']], effect: (t, n) => exchangeExists(t, n.x) },
  { name: 'exchange.declare passive', setup: { exchanges: ['x'] }, run: (ch, n) => ch.checkExchange(n.x), needs: [] },
  {
    name: 'exchange.declare with alternate-exchange',
    setup: { exchanges: ['ae'] },
    run: (ch, n) => ch.assertExchange(n.x, 'direct', { durable: false, alternateExchange: n.ae }),
    needs: [['configure', 'exchange', 'x'], ['read', 'exchange', 'x'], ['write', 'exchange', 'ae']],
    effect: (t, n) => exchangeExists(t, n.x),
  },
  { name: 'exchange.delete', setup: { exchanges: ['x'] }, run: (ch, n) => ch.deleteExchange(n.x), needs: [['configure', 'exchange', 'x']], effect: async (t, n) => !(await exchangeExists(t, n.x)) },
  {
    name: 'exchange.bind',
    setup: { exchanges: ['src', 'dst'], queues: ['q'], bindings: [['q', 'dst']] },
    run: (ch, n) => ch.bindExchange(n.dst, n.src, 'k'),
    needs: [['write', 'exchange', 'dst'], ['read', 'exchange', 'src']],
    effect: (t, n) => routes(t, n.src, n.q),
  },
  {
    name: 'exchange.unbind',
    setup: { exchanges: ['src', 'dst'], queues: ['q'], bindings: [['q', 'dst'], ['dst', 'src']] },
    run: (ch, n) => ch.unbindExchange(n.dst, n.src, 'k'),
    needs: [['write', 'exchange', 'dst'], ['read', 'exchange', 'src']],
    effect: async (t, n) => !(await routes(t, n.src, n.q)),
  },
  { name: 'queue.declare', setup: {}, run: (ch, n) => ch.assertQueue(n.q, { durable: false }), needs: [['configure', 'queue', 'q']], effect: (t, n) => queueExists(t, n.q) },
  { name: 'queue.declare passive', setup: { queues: ['q'] }, run: (ch, n) => ch.checkQueue(n.q), needs: [] },
  {
    name: 'queue.declare with x-dead-letter-exchange',
    setup: { exchanges: ['dlx'] },
    run: (ch, n) => ch.assertQueue(n.q, { durable: false, deadLetterExchange: n.dlx }),
    needs: [['configure', 'queue', 'q'], ['read', 'queue', 'q'], ['write', 'exchange', 'dlx']],
    effect: (t, n) => queueExists(t, n.q),
  },
  { name: 'queue.delete', setup: { queues: ['q'] }, run: (ch, n) => ch.deleteQueue(n.q), needs: [['configure', 'queue', 'q']], effect: async (t, n) => !(await queueExists(t, n.q)) },
  {
    name: 'queue.bind',
    setup: { exchanges: ['x'], queues: ['q'] },
    run: (ch, n) => ch.bindQueue(n.q, n.x, 'k'),
    needs: [['write', 'queue', 'q'], ['read', 'exchange', 'x']],
    effect: (t, n) => routes(t, n.x, n.q),
  },
  {
    name: 'queue.unbind',
    setup: { exchanges: ['x'], queues: ['q'], bindings: [['q', 'x']] },
    run: (ch, n) => ch.unbindQueue(n.q, n.x, 'k'),
    needs: [['write', 'queue', 'q'], ['read', 'exchange', 'x']],
    effect: async (t, n) => !(await routes(t, n.x, n.q)),
  },
  { name: 'queue.purge', setup: { queues: ['q'], messages: 2 }, run: (ch, n) => ch.purgeQueue(n.q), needs: [['read', 'queue', 'q']], effect: async (t, n) => (await messageCount(t, n.q)) === 0 },
  {
    name: 'basic.publish',
    setup: { exchanges: ['x'], queues: ['q'], bindings: [['q', 'x']] },
    run: async (ch, n) => {
      ch.publish(n.x, 'k', Buffer.from('hello'))
      await roundTrip(ch)
    },
    needs: [['write', 'exchange', 'x']],
    effect: async (t, n) => (await messageCount(t, n.q)) === 1,
  },
  {
    name: 'basic.publish to the default exchange',
    setup: { queues: ['q'] },
    run: async (ch, n) => {
      ch.sendToQueue(n.q, Buffer.from('hello'))
      await roundTrip(ch)
    },
    needs: [['write', 'exchange', 'amq.default']],
    effect: async (t, n) => (await messageCount(t, n.q)) === 1,
  },
  { name: 'basic.consume', setup: { queues: ['q'] }, run: (ch, n) => ch.consume(n.q, () => {}), needs: [['read', 'queue', 'q']] },
  { name: 'basic.get', setup: { queues: ['q'], messages: 1 }, run: (ch, n) => ch.get(n.q, { noAck: true }), needs: [['read', 'queue', 'q']], effect: async (t, n) => (await messageCount(t, n.q)) === 0 },
  // resources that do not exist: the permission is checked first, so a user without it cannot probe for names
  { name: 'basic.get of a missing queue', setup: {}, run: (ch, n) => ch.get(n.q), needs: [['read', 'queue', 'q']], missing: (n) => `NOT_FOUND - no queue '${n.q}' in vhost '/'` },
  { name: 'basic.consume of a missing queue', setup: {}, run: (ch, n) => ch.consume(n.q, () => {}), needs: [['read', 'queue', 'q']], missing: (n) => `NOT_FOUND - no queue '${n.q}' in vhost '/'` },
  { name: 'queue.purge of a missing queue', setup: {}, run: (ch, n) => ch.purgeQueue(n.q), needs: [['read', 'queue', 'q']], missing: (n) => `NOT_FOUND - no queue '${n.q}' in vhost '/'` },
  { name: 'queue.delete of a missing queue', setup: {}, run: (ch, n) => ch.deleteQueue(n.q), needs: [['configure', 'queue', 'q']] },
  { name: 'exchange.delete of a missing exchange', setup: {}, run: (ch, n) => ch.deleteExchange(n.x), needs: [['configure', 'exchange', 'x']] },
  {
    name: 'basic.publish to a missing exchange',
    setup: {},
    run: async (ch, n) => {
      ch.publish(n.x, 'k', Buffer.from('hello'))
      await roundTrip(ch)
    },
    needs: [['write', 'exchange', 'x']],
    missing: (n) => `NOT_FOUND - no exchange '${n.x}' in vhost '/'`,
  },
  { name: 'queue.bind to a missing exchange', setup: { queues: ['q'] }, run: (ch, n) => ch.bindQueue(n.q, n.x, 'k'), needs: [['write', 'queue', 'q'], ['read', 'exchange', 'x']], missing: (n) => `NOT_FOUND - no exchange '${n.x}' in vhost '/'` },
]

type Outcome = 'ok' | { code?: number; message: string }

/** Runs one operation as a user on a fresh connection: 'ok', or how the channel/connection was closed. */
async function attemptAmqp(t: Target, user: User, run: (ch: Channel) => Promise<unknown>): Promise<Outcome> {
  let conn: ChannelModel
  try {
    conn = await amqp.connect(t.amqpUrl(user.name))
  } catch (e) {
    return { code: (e as { code?: number }).code, message: (e as Error).message }
  }
  conn.on('error', () => {})
  try {
    const ch = await conn.createChannel()
    const closed = new Promise<Outcome>((resolve) => ch.once('error', (e: Error & { code?: number }) => resolve({ code: e.code, message: e.message })))
    try {
      await run(ch)
      return 'ok'
    } catch {
      return await closed
    }
  } finally {
    await conn.close().catch(() => {})
  }
}

/** connection.open of vhost '/' as the user, on a raw socket: the connection.close the broker answers with. */
async function openRefusal(t: Target, user: User): Promise<{ replyCode: number; replyText: string; classId: number; methodId: number }> {
  const raw = await RawClient.fromUrl(t.amqpUrl(user.name))
  try {
    raw.write(PROTOCOL_HEADER)
    await raw.expectMethod(10, 10)
    const startOk = new Enc().table({ capabilities: { authentication_failure_close: true } }).shortstr('PLAIN').longstr(`\0${user.name}\0pw-${user.name}`).shortstr('en_US').build()
    raw.write(methodFrame(0, 10, 11, startOk))
    const tune = await raw.expectMethod(10, 30)
    raw.write(methodFrame(0, 10, 31, new Enc().u16(tune.payload.readUInt16BE(4)).u32(tune.payload.readUInt32BE(6)).u16(0).build()))
    raw.write(methodFrame(0, 10, 40, new Enc().shortstr('/').shortstr('').bit(false).build()))
    const close = await raw.expectClose()
    return { replyCode: close.replyCode, replyText: close.replyText, classId: close.classId, methodId: close.methodId }
  } finally {
    raw.destroy()
  }
}

// --- HTTP operations ---------------------------------------------------------------------------------------------

interface HttpOperation {
  name: string
  setup: Setup
  request(n: Names): [method: string, path: string, body?: unknown]
  /** permissions the operation needs (checked after the tag and the vhost access) */
  needs: Need[]
  /** the tag it needs beyond 'management' (RabbitMQ: policymaker for policies, administrator for users...) */
  tag?: 'administrator' | 'policymaker'
  /** how RabbitMQ words a permission refusal for it: the management plugin's "Access refused." or the channel's text */
  refusal: 'declare' | 'publish' | 'channel'
  /** Warren's own endpoints: not run against RabbitMQ */
  warrenOnly?: boolean
  effect?(t: Target, n: Names): Promise<boolean>
}

const HTTP_OPERATIONS: HttpOperation[] = [
  { name: 'PUT exchange', setup: {}, request: (n) => ['PUT', `/api/exchanges/%2F/${n.x}`, { type: 'direct' }], needs: [['configure', 'exchange', 'x']], refusal: 'declare', effect: (t, n) => exchangeExists(t, n.x) },
  {
    name: 'PUT exchange with alternate-exchange',
    setup: { exchanges: ['ae'] },
    request: (n) => ['PUT', `/api/exchanges/%2F/${n.x}`, { type: 'direct', arguments: { 'alternate-exchange': n.ae } }],
    needs: [['configure', 'exchange', 'x'], ['read', 'exchange', 'x'], ['write', 'exchange', 'ae']],
    refusal: 'declare',
    effect: (t, n) => exchangeExists(t, n.x),
  },
  { name: 'DELETE exchange', setup: { exchanges: ['x'] }, request: (n) => ['DELETE', `/api/exchanges/%2F/${n.x}`], needs: [['configure', 'exchange', 'x']], refusal: 'declare', effect: async (t, n) => !(await exchangeExists(t, n.x)) },
  { name: 'PUT queue', setup: {}, request: (n) => ['PUT', `/api/queues/%2F/${n.q}`, { durable: false }], needs: [['configure', 'queue', 'q']], refusal: 'declare', effect: (t, n) => queueExists(t, n.q) },
  {
    name: 'PUT queue with x-dead-letter-exchange',
    setup: { exchanges: ['dlx'] },
    request: (n) => ['PUT', `/api/queues/%2F/${n.q}`, { durable: false, arguments: { 'x-dead-letter-exchange': n.dlx } }],
    needs: [['configure', 'queue', 'q'], ['read', 'queue', 'q'], ['write', 'exchange', 'dlx']],
    refusal: 'declare',
    effect: (t, n) => queueExists(t, n.q),
  },
  { name: 'DELETE queue', setup: { queues: ['q'] }, request: (n) => ['DELETE', `/api/queues/%2F/${n.q}`], needs: [['configure', 'queue', 'q']], refusal: 'declare', effect: async (t, n) => !(await queueExists(t, n.q)) },
  { name: 'DELETE queue contents (purge)', setup: { queues: ['q'], messages: 2 }, request: (n) => ['DELETE', `/api/queues/%2F/${n.q}/contents`], needs: [['read', 'queue', 'q']], refusal: 'declare', effect: async (t, n) => (await messageCount(t, n.q)) === 0 },
  {
    name: 'POST binding exchange → queue',
    setup: { exchanges: ['x'], queues: ['q'] },
    request: (n) => ['POST', `/api/bindings/%2F/e/${n.x}/q/${n.q}`, { routing_key: 'k' }],
    needs: [['write', 'queue', 'q'], ['read', 'exchange', 'x']],
    refusal: 'declare',
    effect: (t, n) => routes(t, n.x, n.q),
  },
  {
    name: 'DELETE binding exchange → queue',
    setup: { exchanges: ['x'], queues: ['q'], bindings: [['q', 'x']] },
    request: (n) => ['DELETE', `/api/bindings/%2F/e/${n.x}/q/${n.q}/k`],
    needs: [['write', 'queue', 'q'], ['read', 'exchange', 'x']],
    refusal: 'declare',
    effect: async (t, n) => !(await routes(t, n.x, n.q)),
  },
  {
    name: 'POST binding exchange → exchange',
    setup: { exchanges: ['src', 'dst'], queues: ['q'], bindings: [['q', 'dst']] },
    request: (n) => ['POST', `/api/bindings/%2F/e/${n.src}/e/${n.dst}`, { routing_key: 'k' }],
    needs: [['write', 'exchange', 'dst'], ['read', 'exchange', 'src']],
    refusal: 'declare',
    effect: (t, n) => routes(t, n.src, n.q),
  },
  {
    name: 'POST publish',
    setup: { exchanges: ['x'], queues: ['q'], bindings: [['q', 'x']] },
    request: (n) => ['POST', `/api/exchanges/%2F/${n.x}/publish`, { routing_key: 'k', payload: 'hello', payload_encoding: 'string', properties: {} }],
    needs: [['write', 'exchange', 'x']],
    refusal: 'publish',
    effect: async (t, n) => (await messageCount(t, n.q)) === 1,
  },
  {
    name: 'POST get',
    setup: { queues: ['q'], messages: 1 },
    request: (n) => ['POST', `/api/queues/%2F/${n.q}/get`, { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' }],
    needs: [['read', 'queue', 'q']],
    refusal: 'channel',
    effect: async (t, n) => (await messageCount(t, n.q)) === 0,
  },
  { name: 'GET queue', setup: { queues: ['q'] }, request: (n) => ['GET', `/api/queues/%2F/${n.q}`], needs: [], refusal: 'declare' },
  { name: 'GET messages (browse)', setup: { queues: ['q'], messages: 1 }, request: (n) => ['GET', `/api/queues/%2F/${n.q}/messages`], needs: [['read', 'queue', 'q']], refusal: 'declare', warrenOnly: true },
  { name: 'GET definitions', setup: {}, request: () => ['GET', '/api/definitions'], needs: [], tag: 'administrator', refusal: 'declare' },
  { name: 'PUT policy', setup: {}, request: (n) => ['PUT', `/api/policies/%2F/p-${n.q}`, { pattern: `^${n.q}$`, definition: { 'message-ttl': 60000 }, 'apply-to': 'queues' }], needs: [], tag: 'policymaker', refusal: 'declare' },
  { name: 'PUT user', setup: {}, request: (n) => ['PUT', `/api/users/u-${n.q}`, { password: 'x', tags: '' }], needs: [], tag: 'administrator', refusal: 'declare' },
  { name: 'PUT permission', setup: {}, request: () => ['PUT', `/api/permissions/%2F/guest`, { configure: '.*', write: '.*', read: '.*' }], needs: [], tag: 'administrator', refusal: 'declare' },
]

const TAG_HOLDERS: Record<string, string[]> = { administrator: ['administrator'], policymaker: ['policymaker', 'administrator'] }
/** RabbitMQ 3.10's reasons: is_authorized_admin, and is_authorized_policies ("...access object", not "Not policymaker user") */
const TAG_REASON: Record<string, string> = { administrator: 'Not administrator user', policymaker: 'User not authorised to access object' }
/** administrator-only endpoints do not look at the user's vhost permissions */
const VHOST_FREE = new Set(['GET definitions', 'PUT user', 'PUT permission'])

/** The HTTP answer a cell must get: a 2xx, or RabbitMQ's status and JSON error. */
function expectedHttp(user: User, op: HttpOperation, names: Names): { ok: true } | { status: number; body: unknown } {
  if (op.tag && !user.tags.some((tag) => TAG_HOLDERS[op.tag!].includes(tag))) return { status: 401, body: { error: 'not_authorised', reason: TAG_REASON[op.tag] } }
  if (!user.permission && !VHOST_FREE.has(op.name)) return { status: 401, body: { error: 'not_authorised', reason: 'User not authorised to access virtual host' } }
  const refusal = firstRefusal(user, op.needs, names)
  if (!refusal) return { ok: true }
  if (op.refusal === 'publish') return { status: 400, body: { error: 'bad_request', reason: `403 ACCESS_REFUSED - ${refusal}` } }
  if (op.refusal === 'channel') return { status: 401, body: { error: 'not_authorised', reason: `ACCESS_REFUSED - ${refusal}` } }
  return { status: 401, body: { error: 'not_authorised', reason: 'Access refused.' } }
}

// --- the matrix, run against a target ------------------------------------------------------------------------------

function matrix(label: string, start: () => Promise<{ target: Target; stop(): Promise<void> }>, options: { rabbitmq: boolean }): void {
  describe(label, () => {
    let target: Target
    let stop: (() => Promise<void>) | undefined
    beforeAll(async () => {
      const started = await start()
      target = started.target
      stop = started.stop
      await createUsers(target)
    }, 120_000)
    afterAll(async () => {
      await guestConn?.close().catch(() => {})
      guestConn = undefined
      await stop?.()
    }, 60_000)

    describe('AMQP', () => {
      for (const user of USERS) {
        it.each(AMQP_OPERATIONS.map((op) => [op.name, op] as const))(`${user.name.replace(`-${suffix}`, '')} × %s`, async (_name, op) => {
          const names = namesFor(op.name.replace(/\W+/g, '-'))
          await setUp(target, names, op.setup)
          const outcome = await attemptAmqp(target, user, (ch) => op.run(ch, names))
          if (!user.permission) {
            // no permission in the vhost: connection.open is refused, whatever the operation
            // (amqplib only says "Expected ConnectionOpenOk; got <ConnectionClose channel:0>": the reply is read raw)
            expect(outcome).not.toBe('ok')
            expect(await openRefusal(target, user)).toEqual({ replyCode: 530, replyText: `NOT_ALLOWED - access to vhost '/' refused for user '${user.name}'`, classId: 10, methodId: 40 })
            if (op.effect && op.needs.length > 0) expect(await op.effect(target, names)).toBe(false)
            return
          }
          const refusal = firstRefusal(user, op.needs, names)
          if (refusal === undefined && op.missing) {
            expect(outcome).toMatchObject({ code: 404 })
            expect((outcome as { message: string }).message).toContain(op.missing(names))
          } else if (refusal === undefined) {
            expect(outcome).toBe('ok')
            if (op.effect) expect(await op.effect(target, names)).toBe(true)
          } else {
            expect(outcome).toMatchObject({ code: 403 })
            expect((outcome as { message: string }).message).toContain(`ACCESS_REFUSED - ${refusal}`)
            if (op.effect) expect(await op.effect(target, names)).toBe(false)
          }
        })
      }
    })

    describe('HTTP API', () => {
      const operations = HTTP_OPERATIONS.filter((op) => !(options.rabbitmq && op.warrenOnly))
      for (const user of USERS) {
        it.each(operations.map((op) => [op.name, op] as const))(`${user.name.replace(`-${suffix}`, '')} × %s`, async (_name, op) => {
          const names = namesFor(op.name.replace(/\W+/g, '-'))
          await setUp(target, names, op.setup)
          const [method, path, body] = op.request(names)
          const response = await target.http(method, path, user.name, body)
          const expected = expectedHttp(user, op, names)
          if ('ok' in expected) {
            expect(response.status, JSON.stringify(response.body)).toBeGreaterThanOrEqual(200)
            expect(response.status, JSON.stringify(response.body)).toBeLessThan(300)
            if (op.effect) expect(await op.effect(target, names)).toBe(true)
          } else {
            expect(response).toEqual(expected)
            if (op.effect) expect(await op.effect(target, names)).toBe(false)
          }
        })
      }
    })
  })
}

matrix(
  'the embedded broker',
  async () => {
    const broker: BrokerHandle = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0 })
    return { target: targetFor(`amqp://127.0.0.1:${broker.port}`, `http://127.0.0.1:${broker.httpPort}`), stop: () => broker.close() }
  },
  { rabbitmq: false },
)

matrix(
  'RabbitMQ 3.10 (the same cells, so each expectation is RabbitMQ\'s behaviour)',
  async () => {
    const node: RabbitMQNode = await startRabbitMQNode()
    return { target: targetFor(node.amqpUrl, node.managementUrl), stop: () => node.stop() }
  },
  { rabbitmq: true },
)
