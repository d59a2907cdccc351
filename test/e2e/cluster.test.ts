// The Cluster view in Debian's Chromium against a real 3-node RabbitMQ 3.10.8 cluster on loopback
// (helpers/rabbitmq-cluster.ts): the nodes, the placement matrix, the shovel and the federation link; confirmed
// persistent messages in a mirrored (ha-mode all) and a quorum queue whose master/leader is node 1; node 1 stopped →
// the view shows it down, the warnings and the queues' new master/leader, and no confirmed message is lost; node 1
// started again → the view shows it back, its mirror synchronised and its quorum member online.
// The console reads the cluster through node 3's management API (node 1 is the one stopped).
import amqp from 'amqplib'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openConsole, type ConsoleUnderTest } from './helpers/console-page'
import { startRabbitMQCluster, type RabbitMQCluster } from './helpers/rabbitmq-cluster'

const N = 500
let ui: ConsoleUnderTest
let cluster: RabbitMQCluster
let page: Page
let labels: string[]

const cell = (queue: string, node: number) => page.locator(`[data-testid="cell-${queue}-${labels[node]}"]`)
const role = (queue: string, node: number) => cell(queue, node).getAttribute('data-role')
const text = (testid: string) => page.locator(`[data-testid="${testid}"]`).textContent()

beforeAll(async () => {
  const [opened, started] = await Promise.all([openConsole({ viewport: { width: 1500, height: 1400 }, tickMs: 2000 }), startRabbitMQCluster(3)])
  ui = opened
  cluster = started
  page = ui.page
  labels = cluster.nodes.map((n) => n.name.split('@')[0]!)
}, 240_000)

afterAll(async () => {
  await ui?.close()
  await cluster?.stop()
}, 120_000)

describe('Cluster view on the embedded broker', () => {
  it('shows Warren itself (its pair panel) and creates, restarts and deletes a shovel from the view', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${ui.web.amqpPort}`)
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue('e2e.shovel.in', { durable: true })
    await ch.assertQueue('e2e.shovel.out', { durable: true })
    for (let i = 0; i < 10; i++) ch.sendToQueue('e2e.shovel.in', Buffer.from(`m${i}`), { persistent: true })
    await ch.waitForConfirms()
    await ui.go('/cluster')
    await expect.poll(() => text('cluster-product'), { timeout: 20_000 }).toContain('Warren')
    await page.locator('[data-testid="pair"]').waitFor()
    await expect.poll(() => page.locator('[data-testid^="pair-role-"]').first().textContent()).toBe('active')
    await ui.tid('shovel-create-open').click()
    await ui.fill('shovel-name', 'e2e-move')
    await ui.fill('shovel-src', 'e2e.shovel.in')
    await ui.fill('shovel-dest', 'e2e.shovel.out')
    await ui.tid('shovel-create-submit').click()
    await expect.poll(() => text('shovel-state-e2e-move'), { timeout: 20_000 }).toBe('running')
    await expect.poll(async () => (await ch.checkQueue('e2e.shovel.out')).messageCount, { timeout: 20_000 }).toBe(10)
    await ui.tid('shovel-restart-e2e-move').click()
    await expect.poll(() => text('shovel-state-e2e-move'), { timeout: 20_000 }).toBe('running')
    await ui.tid('shovel-delete-e2e-move').click()
    await ui.fill('confirm-name', 'e2e-move')
    await ui.tid('confirm-button').click()
    await expect.poll(() => ui.tid('shovel-state-e2e-move').count(), { timeout: 20_000 }).toBe(0)
    await conn.close()
  }, 60_000)
})

describe('Cluster view on a real RabbitMQ cluster', () => {
  beforeAll(async () => {
    const node3 = cluster.nodes[2]!
    const profile = await ui.command<{ id: string }>('profiles.add', {
      name: 'Cluster',
      amqpUrl: node3.amqpUrl,
      managementUrl: node3.managementUrl,
      username: 'guest',
      password: 'guest',
      vhost: '/',
      production: false,
      readOnly: false,
    })
    await ui.command('profiles.activate', { id: profile.id })
  }, 30_000)

  it('shows 3 running nodes, the placement matrix, the shovel and the federation link', async () => {
    await ui.go('/cluster')
    await expect.poll(() => text('cluster-running'), { timeout: 30_000 }).toContain('3 of 3 nodes running')
    for (const l of labels) expect(await text(`node-state-${l}`)).toBe('running')
    await expect.poll(() => role(cluster.mirroredQueue, 0), { timeout: 20_000 }).toBe('master')
    expect(await role(cluster.mirroredQueue, 1)).toBe('mirror')
    expect(await role(cluster.mirroredQueue, 2)).toBe('mirror')
    expect(await role(cluster.quorumQueue, 0)).toBe('leader')
    expect(await role(cluster.quorumQueue, 1)).toBe('member')
    await expect.poll(() => text(`shovel-state-${cluster.shovel}`), { timeout: 30_000 }).toBe('running')
    await expect.poll(() => text(`federation-status-${cluster.federationUpstream}`), { timeout: 30_000 }).toBe('running')
    await page.locator('[data-testid="cluster-no-warnings"]').waitFor({ timeout: 30_000 })
    // Alt+C opens the view from elsewhere
    await ui.go('/overview')
    await page.locator('[data-testid="overview-product"]').waitFor()
    await page.keyboard.press('Alt+c')
    await page.locator('[data-testid="cluster-running"]').waitFor()
  }, 90_000)

  it('stopping the node that holds the master and the leader: shown down, warned, new leaders, no confirmed message lost', async () => {
    // N confirmed persistent messages to each queue, through node 2
    const conn = await amqp.connect(cluster.nodes[1]!.amqpUrl)
    const ch = await conn.createConfirmChannel()
    for (let i = 0; i < N; i++) {
      ch.sendToQueue(cluster.mirroredQueue, Buffer.from(`mirrored ${i}`), { persistent: true })
      ch.sendToQueue(cluster.quorumQueue, Buffer.from(`quorum ${i}`), { persistent: true })
    }
    await ch.waitForConfirms()
    await expect.poll(() => text(`messages-${cluster.quorumQueue}`), { timeout: 30_000 }).toBe(String(N))
    await expect.poll(() => text(`messages-${cluster.mirroredQueue}`), { timeout: 30_000 }).toBe(String(N))

    await cluster.stopNode(0)
    await expect.poll(() => text(`node-state-${labels[0]}`), { timeout: 30_000 }).toBe('down')
    await expect.poll(() => text('cluster-running')).toContain('2 of 3 nodes running')
    await page.locator('[data-testid="warning-node-down"]').waitFor({ timeout: 20_000 })
    await expect.poll(() => text('warning-node-down')).toContain(cluster.nodes[0]!.name)
    // the quorum queue's member on node 1 is offline, a new leader leads; the mirrored queue has a new master
    await expect.poll(() => role(cluster.quorumQueue, 0), { timeout: 30_000 }).toBe('member-offline')
    await expect.poll(async () => [await role(cluster.quorumQueue, 1), await role(cluster.quorumQueue, 2)].sort(), { timeout: 30_000 }).toEqual(['leader', 'member'])
    await page.locator('[data-testid="warning-replica-offline"]').waitFor({ timeout: 20_000 })
    await expect.poll(() => role(cluster.mirroredQueue, 0), { timeout: 30_000 }).toBe('')
    await expect.poll(async () => [await role(cluster.mirroredQueue, 1), await role(cluster.mirroredQueue, 2)].sort(), { timeout: 30_000 }).toEqual(['master', 'mirror'])
    // the shovel's source queue lived on node 1 only (not mirrored): down with it
    await page.locator('[data-testid="warning-queue-down"]').waitFor({ timeout: 20_000 })
    await ui.shot('cluster')

    // every confirmed message is still there: in the view and over AMQP
    await expect.poll(() => text(`messages-${cluster.quorumQueue}`), { timeout: 30_000 }).toBe(String(N))
    await expect.poll(() => text(`messages-${cluster.mirroredQueue}`), { timeout: 30_000 }).toBe(String(N))
    expect((await ch.checkQueue(cluster.quorumQueue)).messageCount).toBe(N)
    expect((await ch.checkQueue(cluster.mirroredQueue)).messageCount).toBe(N)
    await conn.close()
  }, 120_000)

  it('starting it again: shown back, its mirror synchronised and its quorum member online again', async () => {
    await cluster.startNode(0)
    await expect.poll(() => text('cluster-running'), { timeout: 60_000 }).toContain('3 of 3 nodes running')
    await expect.poll(() => role(cluster.quorumQueue, 0), { timeout: 60_000 }).toBe('member')
    await expect.poll(() => role(cluster.mirroredQueue, 0), { timeout: 60_000 }).toBe('mirror')
    await expect.poll(() => text(`problems-${cluster.mirroredQueue}`)).toBe('ok')
    await expect.poll(() => text(`problems-${cluster.quorumQueue}`)).toBe('ok')
    await expect.poll(() => text(`messages-${cluster.quorumQueue}`), { timeout: 30_000 }).toBe(String(N))
    await page.locator('[data-testid="warning-node-down"]').waitFor({ state: 'detached', timeout: 30_000 })
    expect(ui.pageErrors).toEqual([])
  }, 150_000)
})
