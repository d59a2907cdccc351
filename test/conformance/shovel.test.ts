// Conformance of the shovel HTTP API: the same requests (runtime parameters of component `shovel`, the
// shovel_management status and restart, definitions export, validation errors, tag rules) against a real RabbitMQ
// 3.10.8 with rabbitmq_shovel + rabbitmq_shovel_management and against Warren's embedded broker; the normalised
// answers must be equal (node names, times and ports differ legitimately; Warren's extra status fields are checked
// apart).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRabbitMQNode, type RabbitMQNode } from '../e2e/helpers/rabbitmq'
import { startHttpBroker, type HttpBroker } from '../helpers/http'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

interface Target {
  api: string
  amqpPort: number
}

let rabbit: RabbitMQNode
let warren: HttpBroker
let targets: { rabbit: Target; warren: Target }

beforeAll(async () => {
  ;[rabbit, warren] = await Promise.all([startRabbitMQNode(90_000, { plugins: ['rabbitmq_shovel', 'rabbitmq_shovel_management'] }), startHttpBroker()])
  targets = {
    rabbit: { api: rabbit.managementUrl, amqpPort: Number(new URL(rabbit.amqpUrl).port) },
    warren: { api: warren.apiBase, amqpPort: warren.handle.port },
  }
}, 120_000)

afterAll(async () => {
  await warren?.handle.close()
  await rabbit?.stop()
}, 60_000)

async function call(t: Target, method: string, path: string, body?: unknown, user = 'guest', password = user): Promise<{ status: number; body: Json }> {
  const headers: Record<string, string> = { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }
  if (body !== undefined) headers['content-type'] = 'application/json'
  const response = await fetch(t.api + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await response.text()
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) }
}

const WARREN_EXTRAS = ['messages_transferred', 'last_error', 'last_error_at']

/** A status entry without what legitimately differs: node, time, ports in URIs, Warren's additions. */
function normaliseStatus(entry: Json): Json {
  const copy: Json = { ...entry }
  expect(copy.timestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{1,2}:\d{2}:\d{2}$/)
  expect(typeof copy.node).toBe('string')
  delete copy.node
  delete copy.timestamp
  for (const key of WARREN_EXTRAS) delete copy[key]
  for (const key of ['src_uri', 'dest_uri']) if (typeof copy[key] === 'string') copy[key] = copy[key].replace(/:\d+/, ':PORT')
  return copy
}

/** our objects of a list answer (other answers as they are) */
const ours = (list: Json) => (Array.isArray(list) ? list.filter((item) => String(item.name).startsWith('conf-')) : list)
const portless = (value: Json) => JSON.parse(JSON.stringify(value).replace(/127\.0\.0\.1:\d+/g, '127.0.0.1:PORT'))

async function waitForStates(t: Target, names: string[], state: string): Promise<Json[]> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const list = ours((await call(t, 'GET', '/api/shovels')).body)
    if (names.every((n) => list.find((s: Json) => s.name === n)?.state === state)) return list
    if (Date.now() > deadline) throw new Error(`shovels ${names.join(', ')} not ${state}: ${JSON.stringify(list)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function waitForGone(t: Target, path: string): Promise<number> {
  const deadline = Date.now() + 30_000
  for (;;) {
    const { status } = await call(t, 'GET', path)
    if (status === 404 || Date.now() > deadline) return status
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** The scenario, run once per broker; every answer is recorded under a label. */
async function observe(t: Target): Promise<Record<string, Json>> {
  const o: Record<string, Json> = {}
  const local = `amqp://guest:guest@127.0.0.1:${t.amqpPort}/%2f?heartbeat=5`
  const s1 = { 'src-uri': 'amqp://', 'src-queue': 'conf.q1', 'dest-uri': 'amqp://', 'dest-queue': 'conf.q2' }
  const s2 = {
    'src-protocol': 'amqp091',
    'src-uri': local,
    'src-exchange': 'amq.topic',
    'src-exchange-key': 'a.#',
    'dest-protocol': 'amqp091',
    'dest-uri': [local],
    'dest-exchange': 'amq.direct',
    'dest-exchange-key': 'k',
    'ack-mode': 'on-publish',
    'src-prefetch-count': 10,
    'reconnect-delay': 1,
    'add-forward-headers': true,
    'dest-add-timestamp-header': true,
    'dest-publish-properties': { delivery_mode: 2 },
  }
  const s3 = { 'src-uri': 'amqp://', 'src-exchange': 'amq.fanout', 'dest-uri': 'amqp://', 'dest-exchange': 'amq.direct' }
  o.putNew = (await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-s1', { value: s1 })).status
  o.putAgain = (await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-s1', { value: s1 })).status
  o.putS2 = (await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-s2', { value: s2, component: 'ignored', name: 'ignored', vhost: 'ignored' })).status
  o.putS3 = (await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-s3', { value: s3 })).status
  o.getOne = portless(await call(t, 'GET', '/api/parameters/shovel/%2f/conf-s2'))
  o.listVhost = portless(ours((await call(t, 'GET', '/api/parameters/shovel/%2f')).body))
  o.listComponent = portless(ours((await call(t, 'GET', '/api/parameters/shovel')).body))
  o.listAll = portless(ours((await call(t, 'GET', '/api/parameters')).body))
  o.otherComponent = await call(t, 'GET', '/api/parameters/federation-upstream')
  o.exported = portless(ours((await call(t, 'GET', '/api/definitions')).body.parameters))
  o.exportedVhost = portless(ours((await call(t, 'GET', '/api/definitions/%2f')).body.parameters))

  o.running = (await waitForStates(t, ['conf-s1', 'conf-s2', 'conf-s3'], 'running')).map(normaliseStatus)
  o.runningVhost = ours((await call(t, 'GET', '/api/shovels/%2f')).body).map(normaliseStatus)
  o.otherVhost = await call(t, 'GET', '/api/shovels/nosuchvhost')

  o.restart = (await call(t, 'DELETE', '/api/shovels/vhost/%2f/conf-s1/restart')).status
  o.restartMissing = await call(t, 'DELETE', '/api/shovels/vhost/%2f/conf-nosuch/restart')
  o.afterRestart = (await waitForStates(t, ['conf-s1'], 'running')).map(normaliseStatus).find((s: Json) => s.name === 'conf-s1')

  const bad: Record<string, Json> = {
    missingSrcUri: { 'src-queue': 'q1', 'dest-uri': 'amqp://' },
    bothSources: { ...s1, 'src-exchange': 'x' },
    bothDestinations: { ...s1, 'dest-exchange': 'x' },
    ackMode: { ...s1, 'ack-mode': 'sometimes' },
    scheme: { ...s1, 'src-uri': 'foo://x' },
    deleteAfter: { ...s1, 'src-delete-after': 'later' },
    several: { 'ack-mode': 'x', 'src-prefetch-count': 'y', bogus: 1 },
    localVhost: { ...s1, 'dest-uri': 'amqp:///conf-nosuchvhost' },
  }
  for (const [name, value] of Object.entries(bad)) o[`bad.${name}`] = await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-bad', { value })
  o.noValue = await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-bad', {})
  o.unknownComponent = await call(t, 'PUT', '/api/parameters/conf-nosuchcomp/%2f/x', { value: {} })
  o.unknownVhost = await call(t, 'PUT', '/api/parameters/shovel/conf-nosuchvhost/x', { value: s1 })
  o.badNotStored = (await call(t, 'GET', '/api/parameters/shovel/%2f/conf-bad')).status

  // tags: a management user may not set parameters, a policymaker with permissions may
  await call(t, 'PUT', '/api/users/conf-mgmt', { password: 'conf-mgmt', tags: 'management' })
  await call(t, 'PUT', '/api/users/conf-pm', { password: 'conf-pm', tags: 'policymaker' })
  for (const user of ['conf-mgmt', 'conf-pm']) await call(t, 'PUT', `/api/permissions/%2f/${user}`, { configure: '.*', write: '.*', read: '.*' })
  o.managementPut = await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-m', { value: s3 }, 'conf-mgmt')
  o.managementListParameters = (await call(t, 'GET', '/api/parameters/shovel', undefined, 'conf-mgmt')).status
  const managementShovels = await call(t, 'GET', '/api/shovels', undefined, 'conf-mgmt')
  o.managementListShovels = { status: managementShovels.status, names: Array.isArray(managementShovels.body) ? ours(managementShovels.body).map((s: Json) => s.name) : managementShovels.body }
  o.managementRestart = await call(t, 'DELETE', '/api/shovels/vhost/%2f/conf-s1/restart', undefined, 'conf-mgmt')
  o.policymakerListShovels = (await call(t, 'GET', '/api/shovels', undefined, 'conf-pm')).status
  o.policymakerPut = (await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-p', { value: s3 }, 'conf-pm')).status
  o.policymakerDelete = (await call(t, 'DELETE', '/api/parameters/shovel/%2f/conf-p', undefined, 'conf-pm')).status

  // src-delete-after on an empty queue: the shovel is done at once and clears its parameter
  o.putDeleteAfter = (await call(t, 'PUT', '/api/parameters/shovel/%2f/conf-da', { value: { ...s1, 'src-queue': 'conf.empty', 'src-delete-after': 'queue-length' } })).status
  o.deleteAfterGone = await waitForGone(t, '/api/parameters/shovel/%2f/conf-da')

  o.delete = (await call(t, 'DELETE', '/api/parameters/shovel/%2f/conf-s1')).status
  o.deleteAgain = await call(t, 'DELETE', '/api/parameters/shovel/%2f/conf-s1')
  o.getDeleted = await call(t, 'GET', '/api/parameters/shovel/%2f/conf-s1')
  for (const name of ['conf-s2', 'conf-s3']) await call(t, 'DELETE', `/api/parameters/shovel/%2f/${name}`)
  const deadline = Date.now() + 15_000
  while (ours((await call(t, 'GET', '/api/shovels')).body).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100))
  o.statusAfterDelete = ours((await call(t, 'GET', '/api/shovels')).body)
  return o
}

describe('shovel HTTP API: RabbitMQ 3.10.8 (shovel plugins) and Warren answer alike', () => {
  it('parameters, status, restart, validation, tags and definitions', async () => {
    const [expected, actual] = await Promise.all([observe(targets.rabbit), observe(targets.warren)])
    if (process.env.SHOVEL_CONF_DUMP) console.log(JSON.stringify(expected, null, 1))
    for (const key of Object.keys(expected)) expect({ [key]: actual[key] }).toEqual({ [key]: expected[key] })
    expect(Object.keys(actual)).toEqual(Object.keys(expected))
  }, 120_000)

  it("Warren's extra status fields come after RabbitMQ's", async () => {
    const put = await warren.call('PUT', '/api/parameters/shovel/%2f/conf-extra', { body: { value: { 'src-uri': 'amqp://', 'src-queue': 'conf.x', 'dest-uri': 'amqp://', 'dest-queue': 'conf.y' } } })
    expect(put.status).toBe(201)
    const [entry] = await waitForStates(targets.warren, ['conf-extra'], 'running')
    expect(Object.keys(entry).slice(-3)).toEqual(WARREN_EXTRAS)
    expect(entry).toMatchObject({ messages_transferred: 0, last_error: null, last_error_at: null })
    expect((await warren.call('DELETE', '/api/parameters/shovel/%2f/conf-extra')).status).toBe(204)
  })
})
