// The console's cluster area against a real 3-node RabbitMQ 3.10.8 cluster on loopback (test/e2e/helpers/
// rabbitmq-cluster.ts: a mirrored queue with ha-mode all, a quorum queue, a dynamic shovel, a federation upstream)
// and against Warren's embedded broker (its pair from /api/ha, its shovels through the same API calls).
// Node failures are exercised by test/e2e/cluster.test.ts (and by the recorded answers of the unit tests).
import amqp from 'amqplib'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchCommand, type ClusterState, type CommandHandlers, type PlacementPage } from '../../main/contract'
import { ProfileStore } from '../../main/console/profiles'
import { AesGcmSecretBox } from '../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../main/console/service'
import { startRabbitMQCluster, waitFor, type RabbitMQCluster } from '../e2e/helpers/rabbitmq-cluster'
import { startHttpBroker, type HttpBroker } from '../helpers/http'

let cluster: RabbitMQCluster
let embedded: HttpBroker
let service: ConsoleService
let handlers: CommandHandlers
let profiles: ProfileStore
let rabbitProfileId: string
let embeddedProfileId: string

async function run<T>(name: string, request: unknown): Promise<T> {
  const r = await dispatchCommand(handlers, name, request)
  if (!r.ok) throw new Error(`${name}: ${r.error.code} ${r.error.message}`)
  return r.value as T
}

beforeAll(async () => {
  ;[cluster, embedded] = await Promise.all([startRabbitMQCluster(3), startHttpBroker()])
  profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), { amqpUrl: embedded.amqpUrl.replace('guest:guest@', ''), managementUrl: embedded.apiBase })
  embeddedProfileId = profiles.activeId()
  service = createConsoleService({ profiles, emit: () => {} })
  handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  // the console reads the cluster through node 2's management API
  const added = profiles.add({ name: 'cluster', amqpUrl: cluster.nodes[1]!.amqpUrl, managementUrl: cluster.nodes[1]!.managementUrl, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: false })
  rabbitProfileId = added.id
  await run('profiles.activate', { id: rabbitProfileId })
}, 240_000)

afterAll(async () => {
  await service?.close()
  await embedded?.handle.close()
  await cluster?.stop()
}, 120_000)

describe('cluster area on a real RabbitMQ cluster', () => {
  it('shows 3 running nodes with their resources and limits, the shovel and the federation link, and no warning', async () => {
    let s: ClusterState | undefined
    // the management stats of a fresh cluster fill in within a few seconds
    await waitFor('a complete, healthy cluster state', async () => {
      s = await run<ClusterState>('cluster.state', undefined)
      return s.nodes.every((n) => n.memUsed !== undefined) && s.warnings.length === 0
    }, 30_000, 1000).catch(() => {
      throw new Error(`cluster state: ${JSON.stringify(s?.warnings)}`)
    })
    s = s!
    expect(s.kind).toBe('rabbitmq')
    expect(s.product).toBe('RabbitMQ')
    expect(s.version).toBe('3.10.8')
    expect(s.erlangVersion).toMatch(/^\d+/)
    expect(s.queriedNode).toBe(cluster.nodes[1]!.name)
    expect(s.nodes.map((n) => n.name)).toEqual(cluster.nodes.map((n) => n.name).sort())
    for (const n of s.nodes) {
      expect(n).toMatchObject({ running: true, version: '3.10.8', memAlarm: false, diskAlarm: false, partitions: [] })
      expect(n.memUsed!).toBeLessThan(n.memLimit!)
      expect(n.diskFree!).toBeGreaterThan(n.diskFreeLimit!)
      expect(n.fdUsed!).toBeLessThanOrEqual(n.fdTotal!)
      expect(n.procUsed!).toBeGreaterThan(0)
      expect(n.uptimeMs!).toBeGreaterThan(0)
    }
    expect(s.shovels).toEqual([expect.objectContaining({ name: cluster.shovel, vhost: '/', state: 'running', source: `queue ${cluster.shovelSource}` })])
    expect(s.federationLinks).toEqual([expect.objectContaining({ upstream: cluster.federationUpstream, target: cluster.federatedExchange, status: 'running' })])
    expect(s.placement.perNode[cluster.nodes[0]!.name]!.leads).toBeGreaterThanOrEqual(2)
    expect(s.history[cluster.nodes[0]!.name]!.length).toBeGreaterThanOrEqual(1)
  })

  it('places the mirrored queue on every node (master on node 1) and the quorum queue with its leader and members', async () => {
    const [n1, n2, n3] = cluster.nodes.map((n) => n.name)
    const page = await run<PlacementPage>('cluster.placement', { page: 1, pageSize: 50, filter: 'orders' })
    expect(page.nodes).toEqual([n1, n2, n3].sort())
    const byName = Object.fromEntries(page.rows.map((r) => [r.name, r]))
    expect(byName[cluster.mirroredQueue]!.cells).toEqual({ [n1!]: 'master', [n2!]: 'mirror', [n3!]: 'mirror' })
    expect(byName[cluster.quorumQueue]!.cells).toEqual({ [n1!]: 'leader', [n2!]: 'member', [n3!]: 'member' })
    expect(page.rows.every((r) => r.problems.length === 0)).toBe(true)
    expect(page.filteredCount).toBe(2)
    const onlyQuorum = await run<PlacementPage>('cluster.placement', { page: 1, pageSize: 50, type: 'quorum' })
    expect(onlyQuorum.rows.map((r) => r.name)).toEqual([cluster.quorumQueue])
    const problems = await run<PlacementPage>('cluster.placement', { page: 1, pageSize: 50, problemsOnly: true })
    expect(problems.filteredCount).toBe(0)
  })

  it('warns about a federation link that cannot connect, with its error, until its policy is removed', async () => {
    const api = async (method: string, path: string, body?: unknown) => {
      const r = await fetch(cluster.nodes[0]!.managementUrl + path, {
        method,
        headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`)
    }
    await api('PUT', '/api/parameters/federation-upstream/%2F/broken-upstream', { value: { uri: 'amqp://guest:guest@127.0.0.1:1', 'reconnect-delay': 1 } })
    await api('PUT', '/api/exchanges/%2F/broken.events', { type: 'fanout', durable: true })
    await api('PUT', '/api/policies/%2F/federate-broken', { pattern: '^broken\\.', 'apply-to': 'exchanges', definition: { 'federation-upstream': 'broken-upstream' }, priority: 1 })
    let s: ClusterState | undefined
    await waitFor('a federation warning', async () => {
      s = await run<ClusterState>('cluster.state', undefined)
      return s.warnings.some((w) => w.kind === 'federation-not-running')
    }, 30_000, 1000)
    const link = s!.federationLinks!.find((l) => l.upstream === 'broken-upstream')!
    expect(link.status).not.toBe('running')
    expect(link.target).toBe('broken.events')
    const w = s!.warnings.find((x) => x.kind === 'federation-not-running')!
    // fed.events follows the upstream set 'all', which now includes the broken upstream too
    expect(w.subjects).toContain('broken.events')
    expect(s!.federationLinks!.find((l) => l.upstream === cluster.federationUpstream)!.status).toBe('running')
    expect(w.detail).toContain('broken-upstream')
    await api('DELETE', '/api/policies/%2F/federate-broken')
    await api('DELETE', '/api/parameters/federation-upstream/%2F/broken-upstream')
    await api('DELETE', '/api/exchanges/%2F/broken.events')
    await waitFor('the federation warning gone', async () => !(await run<ClusterState>('cluster.state', undefined)).warnings.some((x) => x.kind === 'federation-not-running'), 30_000, 1000)
  })
})

/** Creates a shovel between two fresh queues of the active profile, checks it moves messages, restarts and deletes it. */
async function shovelRoundTrip(amqpUrl: string): Promise<void> {
  const tag = randomBytes(3).toString('hex')
  const [src, dest, name] = [`it-src-${tag}`, `it-dest-${tag}`, `it-shovel-${tag}`]
  const conn = await amqp.connect(amqpUrl)
  try {
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue(src, { durable: true })
    await ch.assertQueue(dest, { durable: true })
    for (let i = 0; i < 20; i++) ch.sendToQueue(src, Buffer.from(`m${i}`), { persistent: true })
    await ch.waitForConfirms()
    await run('cluster.shovels.create', { vhost: '/', name, srcUri: 'amqp://', srcQueue: src, destUri: 'amqp://', destQueue: dest })
    await waitFor('the shovel moved 20 messages', async () => (await ch.checkQueue(dest)).messageCount === 20, 30_000, 250)
    await waitFor('the shovel running', async () => (await run<ClusterState>('cluster.state', undefined)).shovels?.some((s) => s.name === name && s.state === 'running') === true, 30_000, 500)
    await run('cluster.shovels.restart', { vhost: '/', name })
    await waitFor('the shovel running after its restart', async () => (await run<ClusterState>('cluster.state', undefined)).shovels?.some((s) => s.name === name && s.state === 'running') === true, 30_000, 500)
    await run('cluster.shovels.delete', { vhost: '/', name })
    await waitFor('the shovel gone', async () => !(await run<ClusterState>('cluster.state', undefined)).shovels?.some((s) => s.name === name), 30_000, 500)
    const bad = await dispatchCommand(handlers, 'cluster.shovels.create', { vhost: '/', name: 'x', srcUri: 'amqp://', destUri: 'amqp://' })
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error.code).toBe('INVALID')
    await ch.deleteQueue(src)
    await ch.deleteQueue(dest)
  } finally {
    await conn.close()
  }
}

describe('shovels from the console', () => {
  it('creates, restarts and deletes a dynamic shovel on RabbitMQ', async () => {
    await run('profiles.activate', { id: rabbitProfileId })
    await shovelRoundTrip(cluster.nodes[1]!.amqpUrl)
  })

  it('does the same on the embedded broker, which shows itself (and its pair, when it has one) instead of a cluster', async () => {
    await run('profiles.activate', { id: embeddedProfileId })
    const s = await run<ClusterState>('cluster.state', undefined)
    expect(s.kind).toBe('warren')
    expect(s.nodes).toHaveLength(1)
    expect(s.nodes[0]!.running).toBe(true)
    if (s.pair) {
      expect(s.pair.members.some((m) => m.role === 'active')).toBe(true)
      expect(s.pair.node).toBe(s.pair.members.find((m) => m.role === 'active')?.name ?? s.pair.node)
    }
    if (s.shovels === undefined) throw new Error('the embedded broker has no /api/shovels (404): shovels are not available there yet')
    await shovelRoundTrip(embedded.amqpUrl)
  })

  it('pages the placement of 3,000 queues of the embedded broker quickly', async () => {
    await run('profiles.activate', { id: embeddedProfileId })
    const conn = await amqp.connect(embedded.amqpUrl)
    const ch = await conn.createChannel()
    const names = Array.from({ length: 3000 }, (_, i) => `many-${String(i).padStart(4, '0')}`)
    await Promise.all(names.map((q) => ch.assertQueue(q, { durable: false })))
    try {
      const t0 = Date.now()
      const [s, page] = await Promise.all([run<ClusterState>('cluster.state', undefined), run<PlacementPage>('cluster.placement', { page: 7, pageSize: 50, filter: 'many-' })])
      const elapsed = Date.now() - t0
      expect(s.placement.queues).toBeGreaterThanOrEqual(3000)
      expect(page.filteredCount).toBe(3000)
      expect(page.rows.map((r) => r.name)).toEqual(names.slice(300, 350))
      expect(page.rows[0]!.cells).toEqual({ [s.nodes[0]!.name]: 'master' })
      expect(elapsed).toBeLessThan(3000)
      const t1 = Date.now()
      await run<PlacementPage>('cluster.placement', { page: 8, pageSize: 50, filter: 'many-' })
      expect(Date.now() - t1).toBeLessThan(500) // the queue list is shared for a few seconds
    } finally {
      await Promise.all(names.map((q) => ch.deleteQueue(q)))
      await conn.close()
    }
  })

  it('refuses shovel changes on a read-only profile', async () => {
    await run('profiles.update', { id: rabbitProfileId, changes: { readOnly: true } })
    await run('profiles.activate', { id: rabbitProfileId })
    const r = await dispatchCommand(handlers, 'cluster.shovels.delete', { vhost: '/', name: cluster.shovel })
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.code).toBe('READ_ONLY')
    expect((await run<ClusterState>('cluster.state', undefined)).shovels?.map((x) => x.name)).toContain(cluster.shovel)
  })
})
