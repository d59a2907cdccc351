// The Dead letters view in Debian's Chromium, on the embedded broker and on a remote RabbitMQ profile: messages
// dead-lettered by rejection, expiry and max length are found and grouped by reason; one is replayed to its
// original queue where a consumer gets it; 10,000 are bulk-replayed with the progress bar reaching 100%.
// Screenshot: docs/screenshots/dead-letters.png (refreshed when WARREN_SCREENSHOTS=1, written when missing).
import amqp from 'amqplib'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningWebConsole } from '../../main/console/web-console'
import { openConsole, type ConsoleUnderTest } from './helpers/console-page'
import { startRabbitMQNode, type RabbitMQNode } from './helpers/rabbitmq'

const BULK = 10_000

let ui: ConsoleUnderTest
let web: RunningWebConsole
let rabbit: RabbitMQNode
let page: Page

/** rejected ×2 (orders), max length ×2 (orders.limited), expired ×3 (payments), all via the fanout dlx to e2e.dlq */
async function deadLetterSome(url: string): Promise<void> {
  const conn = await amqp.connect(url)
  const ch = await conn.createConfirmChannel()
  await ch.assertExchange('e2e.dlx', 'fanout', { durable: true })
  await ch.assertQueue('e2e.dlq', { durable: true })
  await ch.bindQueue('e2e.dlq', 'e2e.dlx', '')
  await ch.assertExchange('e2e.shop', 'direct', { durable: true })
  await ch.assertQueue('orders', { durable: true, arguments: { 'x-dead-letter-exchange': 'e2e.dlx' } })
  await ch.bindQueue('orders', 'e2e.shop', 'order.created')
  await ch.assertQueue('orders.limited', { durable: true, arguments: { 'x-dead-letter-exchange': 'e2e.dlx', 'x-max-length': 2 } })
  await ch.assertQueue('payments', { durable: true, arguments: { 'x-dead-letter-exchange': 'e2e.dlx', 'x-message-ttl': 20 } })
  for (let i = 0; i < 2; i++) ch.publish('e2e.shop', 'order.created', Buffer.from(JSON.stringify({ order: i, status: 'refused' })), { persistent: true, messageId: `order-${i}`, contentType: 'application/json' })
  for (let i = 0; i < 4; i++) ch.sendToQueue('orders.limited', Buffer.from(JSON.stringify({ order: 100 + i })), { persistent: true, messageId: `limited-${i}` })
  for (let i = 0; i < 3; i++) ch.sendToQueue('payments', Buffer.from(`payment ${i}`), { persistent: true, messageId: `payment-${i}` })
  await ch.waitForConfirms()
  for (let i = 0; i < 2; i++) {
    let m: amqp.GetMessage | false = false
    for (let tries = 0; !m && tries < 50; tries++) m = await ch.get('orders')
    if (!m) throw new Error('no order to reject')
    ch.reject(m, false)
  }
  const deadline = Date.now() + 20_000
  while ((await ch.checkQueue('e2e.dlq')).messageCount < 7) {
    if (Date.now() > deadline) throw new Error('dead letters did not arrive')
    await new Promise((r) => setTimeout(r, 100))
  }
  await conn.close()
}

async function bulkDeadLetters(url: string): Promise<void> {
  const conn = await amqp.connect(url)
  const ch = await conn.createConfirmChannel()
  await ch.assertQueue('bulk.dlq', { durable: true })
  await ch.assertQueue('bulk.target', { durable: true })
  await ch.assertQueue('bulk.source', { durable: true, arguments: { 'x-message-ttl': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'bulk.dlq' } })
  for (let i = 0; i < BULK; i++) if (!ch.sendToQueue('bulk.source', Buffer.from(`bulk ${i}`), { messageId: `bulk-${i}` })) await new Promise((r) => ch.once('drain', r))
  await ch.waitForConfirms()
  const deadline = Date.now() + 30_000
  while ((await ch.checkQueue('bulk.dlq')).messageCount < BULK) {
    if (Date.now() > deadline) throw new Error('bulk dead letters did not arrive')
    await new Promise((r) => setTimeout(r, 100))
  }
  await conn.close()
}

async function scenario(url: string, backend: 'embedded' | 'rabbitmq'): Promise<void> {
  const t0 = Date.now()
  const step = (what: string) => process.env.WARREN_E2E_VERBOSE && console.log(`[${backend}] ${((Date.now() - t0) / 1000).toFixed(1)}s ${what}`)
  await deadLetterSome(url)
  step("await ui.go('/dead-letters')")
  await ui.go('/dead-letters')
  await ui.tid('dl-queue-e2e.dlq').waitFor({ timeout: 30_000 })
  // grouped with their reasons, counts and sources
  await expect.poll(() => ui.tid('dl-count-reason-rejected').textContent()).toBe('2')
  await expect.poll(() => ui.tid('dl-count-reason-maxlen').textContent()).toBe('2')
  await expect.poll(() => ui.tid('dl-count-reason-expired').textContent()).toBe('3')
  await expect.poll(() => ui.tid('dl-count-source-orders').textContent()).toBe('2')
  await expect.poll(() => ui.tid('dl-count-source-orders.limited').textContent()).toBe('2')
  await expect.poll(() => ui.tid('dl-count-source-payments').textContent()).toBe('3')
  expect(await ui.tid('dl-queue-e2e.dlq').textContent()).toContain('orders')
  expect(await ui.tid('dl-mechanism').textContent()).toMatch(/confirm/)
  expect(await ui.tid('dl-browse-mode').textContent()).toContain(backend === 'embedded' ? 'peek' : 'get + requeue')

  step('// one rejected message')
  // one rejected message: its x-death timeline, then replay it to its original route; a consumer of orders gets it
  await ui.tid('dl-group-reason-rejected').click()
  await expect.poll(() => page.locator('[data-testid^="dl-row-e2e.dlq-"]').count()).toBe(2)
  await page.locator('[data-testid^="dl-row-e2e.dlq-"]').first().click()
  await expect.poll(() => ui.tid('dl-timeline').textContent()).toContain('rejected')
  expect(await ui.tid('dl-timeline').textContent()).toContain('e2e.shop → order.created')
  const conn = await amqp.connect(url)
  const ch = await conn.createChannel()
  const got: amqp.ConsumeMessage[] = []
  await ch.consume('orders', (m) => m && got.push(m), { noAck: true })
  if (backend === 'embedded') await ui.shot('dead-letters-message')
  step("await ui.tid('dl-replay-one').click()")
  await ui.tid('dl-replay-one').click()
  await ui.tid('dl-target-original').click()
  await ui.tid('dl-dry-run-button').click()
  await expect.poll(() => ui.tid('dl-dry-run').textContent()).toContain('orders')
  expect(await ui.tid('dl-dry-run-items').textContent()).toContain('e2e.shop → order.created')
  await ui.tid('dl-replay-confirm').click()
  await expect.poll(() => got.length, { timeout: 20_000 }).toBe(1)
  const replayed = got[0]!
  expect(replayed.properties.messageId).toMatch(/^order-[01]$/)
  expect(replayed.properties.headers?.['x-warren-replay-count']).toBe(1)
  expect(JSON.parse(replayed.content.toString())).toMatchObject({ status: 'refused' })
  await conn.close()
  step('// the rest stays')
  // the rest stays: 6 dead letters left, one rejected
  await expect.poll(() => ui.tid('dl-count-reason-rejected').textContent(), { timeout: 20_000 }).toBe('1')

  step('// bulk: 10,000')
  // bulk: 10,000 dead letters replayed to bulk.target; the progress bar reaches 100%
  await bulkDeadLetters(url)
  await ui.tid('dl-filter-clear').click()
  // RabbitMQ's queue counts lag its statistics interval: scan until the scan sees them all
  for (let i = 0; ; i++) {
    await ui.tid('dl-scan').click()
    await expect.poll(() => ui.tid('dl-scan').getAttribute('data-scanning'), { timeout: 60_000 }).toBe('false')
    const text = (await ui.tid('dl-queue-bulk.dlq').textContent({ timeout: 30_000 }).catch(() => '')) ?? ''
    if (text.includes(String(BULK))) break
    if (i > 10) throw new Error(`bulk.dlq not seen with ${BULK}: ${text}`)
    await page.waitForTimeout(1000)
  }
  step("await ui.tid('dl-queue-bulk.dlq').click()")
  await ui.tid('dl-queue-bulk.dlq').click()
  await expect.poll(() => ui.tid('dl-replay-all').isDisabled()).toBe(false)
  await ui.tid('dl-replay-all').click()
  await ui.tid('dl-target-custom').click()
  await page.locator('[data-testid="dl-replay-key"] input').fill('bulk.target')
  // a rate limit of 2,000/s: time to pause and resume from the progress bar
  await page.locator('[data-testid="dl-replay-rate"] input').fill('2000')
  await ui.tid('dl-replay-confirm').click()
  await ui.tid('dl-job-pause').click()
  await expect.poll(() => page.locator('[data-testid^="dl-job-"]').first().textContent()).toContain('paused')
  const processed = async () => Number(/^(\d+) \//.exec(((await ui.tid('dl-job-summary').first().textContent()) ?? '').trim())?.[1] ?? -1)
  await page.waitForTimeout(600) // confirms already in flight when pausing still land
  const atPause = await processed()
  await page.waitForTimeout(1200)
  expect(await processed()).toBe(atPause)
  expect(atPause).toBeLessThan(BULK)
  await ui.tid('dl-job-resume').click()
  step("await expect.poll(() => page.locator('[d")
  await expect.poll(() => page.locator('[data-testid="dl-job-progress"]').first().getAttribute('data-percent'), { timeout: 90_000 }).toBe('100')
  await expect.poll(() => ui.tid('dl-job-summary').first().textContent()).toContain(`${BULK} replayed`)
  const check = await amqp.connect(url)
  const cch = await check.createChannel()
  expect((await cch.checkQueue('bulk.target')).messageCount).toBe(BULK)
  expect((await cch.checkQueue('bulk.dlq')).messageCount).toBe(0)
  await check.close()
  // replayed messages kept their x-death, yet bulk.target is not taken for a dead-letter queue
  await expect.poll(() => ui.tid('dl-queue-bulk.target').count(), { timeout: 20_000 }).toBe(0)
  await ui.tid('dl-queue-e2e.dlq').click()
  await expect.poll(() => ui.tid('dl-count-reason-expired').textContent()).toBe('3')
  if (backend === 'embedded') await ui.shot('dead-letters')

  step('// the audit log')
  // the audit log shows the replays
  await page.locator('.n-tabs-tab', { hasText: 'Audit log' }).click()
  await expect.poll(() => ui.tid('dl-audit-table').textContent()).toContain('bulk.target')
  if (backend === 'embedded') await ui.shot('dead-letters-audit')
}

beforeAll(async () => {
  const [opened, node] = await Promise.all([openConsole({ viewport: { width: 1500, height: 900 }, tickMs: 2000 }), startRabbitMQNode()])
  rabbit = node
  ui = opened
  web = ui.web
  page = ui.page
}, 240_000)

afterAll(async () => {
  await ui?.close()
  await rabbit?.stop()
})

describe('Dead letters view', () => {
  it('on the embedded broker: groups by reason, replays one to its queue, bulk-replays 10,000', async () => {
    await scenario(`amqp://guest:guest@127.0.0.1:${web.amqpPort}`, 'embedded').catch(async (e) => {
      await page.screenshot({ path: '/tmp/e2e-dl-fail.png' })
      throw e
    })
    expect(ui.pageErrors).toEqual([])
  }, 300_000)

  it('on a remote RabbitMQ profile: the same, through get + requeue browsing', async () => {
    const p = (await ui.command('profiles.add', { name: 'Rabbit DL', amqpUrl: rabbit.amqpUrl, managementUrl: rabbit.managementUrl, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: false })) as { id: string }
    await ui.command('profiles.activate', { id: p.id })
    const url = new URL(rabbit.amqpUrl)
    url.username = 'guest'
    url.password = 'guest'
    await scenario(url.toString(), 'rabbitmq').catch(async (e) => {
      await page.screenshot({ path: '/tmp/e2e-dl-fail.png' })
      throw e
    })
    expect(ui.pageErrors).toEqual([])
  }, 300_000)
})
