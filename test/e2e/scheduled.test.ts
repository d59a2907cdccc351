// The Scheduled view in Debian's Chromium, on the embedded broker (Warren's delayed-message store) and on a remote
// RabbitMQ profile (no delayed-message plugin: TTL + dead-letter delay queues): schedule three messages through the
// form, see them listed with a live countdown, cancel one, reschedule one, deliver one now, and a consumer gets the
// delivered ones (never the cancelled one); one scheduled to a key nothing is bound to is warned about and, once due,
// shown as unrouted. On the embedded broker also: 100,000 pending, paged in the view.
// Screenshot: docs/screenshots/scheduled.png (refreshed when WARREN_SCREENSHOTS=1, written when missing).
import amqp from 'amqplib'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningWebConsole } from '../../main/console/web-console'
import { openConsole, type ConsoleUnderTest } from './helpers/console-page'
import { startRabbitMQNode, type RabbitMQNode } from './helpers/rabbitmq'

let ui: ConsoleUnderTest
let web: RunningWebConsole
let rabbit: RabbitMQNode
let page: Page

/** An exchange, a bound queue and a consumer recording what arrives when. */
async function consumerOn(url: string, exchange: string, queue: string): Promise<{ got: Map<string, number>; close: () => Promise<void> }> {
  const conn = await amqp.connect(url)
  conn.on('error', () => {})
  const ch = await conn.createChannel()
  await ch.assertExchange(exchange, 'direct', { durable: true })
  await ch.assertQueue(queue, { durable: true })
  await ch.bindQueue(queue, exchange, 'job')
  const got = new Map<string, number>()
  await ch.consume(queue, (m) => m && got.set(m.content.toString(), Date.now()), { noAck: true })
  return { got, close: () => conn.close().catch(() => {}) }
}

async function scheduleViaForm(exchange: string, body: string, delaySeconds: number): Promise<void> {
  await page.locator('[data-testid="schedule-open"]').click()
  await ui.fill('schedule-exchange', exchange)
  await ui.fill('schedule-routing-key', 'job')
  await expect.poll(() => page.locator('[data-testid="schedule-route-check"]').textContent(), { timeout: 10_000 }).toContain('Route check: routes to')
  await page.locator('[data-testid="schedule-delay"] input').fill(String(delaySeconds))
  await ui.fill('schedule-body', body)
  await page.locator('[data-testid="schedule-submit"]').click()
  await page.locator('[data-testid="schedule-dialog"]').waitFor({ state: 'detached', timeout: 15_000 })
}

/** The ids of the listed rows, in the order shown. */
async function rowIds(): Promise<string[]> {
  // one round trip to the page (a locator per row would be one each)
  return page.evaluate(() => Array.from(document.querySelectorAll('[data-testid^="scheduled-row-"]'), (e) => (e.getAttribute('data-testid') ?? '').slice('scheduled-row-'.length)))
}

/** schedule three through the form, cancel one, reschedule one to 3 s, deliver one now */
async function userPath(exchange: string, got: Map<string, number>, backend: 'embedded' | 'rabbitmq'): Promise<void> {
  await ui.go('/scheduled')
  await expect.poll(() => page.locator('[data-testid="scheduled-mechanism"]').textContent(), { timeout: 20_000 }).toBe(backend === 'embedded' ? 'warren' : 'ttl')
  if (backend === 'rabbitmq') await expect.poll(() => page.locator('[data-testid="scheduled-precision"]').textContent()).toMatch(/bucket width late/)
  await scheduleViaForm(exchange, `${backend}-A`, 600)
  await scheduleViaForm(exchange, `${backend}-B`, 900)
  await scheduleViaForm(exchange, `${backend}-C`, 1200)
  await expect.poll(() => rowIds().then((ids) => ids.length), { timeout: 15_000 }).toBe(3)
  const [a, b, c] = await rowIds()
  // the countdown is live: it changes by itself
  const first = await page.locator(`[data-testid="countdown-${a}"]`).textContent()
  expect(first).toMatch(/^in (9|10) min/)
  await expect.poll(() => page.locator(`[data-testid="countdown-${a}"]`).textContent(), { timeout: 5000 }).not.toBe(first)
  if (backend === 'embedded') await ui.shot('scheduled')

  // cancel A (typing its id)
  await page.locator(`[data-testid="cancel-${a}"]`).click()
  await expect(page.locator('[data-testid="confirm-button"]').isDisabled()).resolves.toBe(true)
  await ui.fill('confirm-name', a)
  await page.locator('[data-testid="confirm-button"]').click()
  await expect.poll(() => rowIds(), { timeout: 10_000 }).toEqual([b, c])

  // reschedule B to 3 s from now
  await page.locator(`[data-testid="reschedule-${b}"]`).click()
  await page.locator('[data-testid="reschedule-delay"] input').fill('3')
  const rescheduledAt = Date.now()
  await page.locator('[data-testid="reschedule-submit"]').click()
  await expect.poll(() => got.has(`${backend}-B`), { timeout: 15_000 }).toBe(true)
  expect(got.get(`${backend}-B`)! - rescheduledAt).toBeGreaterThan(2000)

  // deliver C now
  await expect.poll(() => rowIds(), { timeout: 10_000 }).toEqual([c])
  await page.locator(`[data-testid="deliver-${c}"]`).click()
  await expect.poll(() => got.has(`${backend}-C`), { timeout: 10_000 }).toBe(true)
  await expect.poll(() => page.locator('[data-testid="scheduled-empty"]').count(), { timeout: 10_000 }).toBe(1)
  expect(got.has(`${backend}-A`)).toBe(false)

  // a key nothing is bound to: the form warns, and once due the message is shown as unrouted, not dropped silently
  await page.locator('[data-testid="schedule-open"]').click()
  await ui.fill('schedule-exchange', exchange)
  await ui.fill('schedule-routing-key', 'nowhere')
  await expect.poll(() => page.locator('[data-testid="schedule-route-check"]').textContent(), { timeout: 10_000 }).toContain('No route')
  await page.locator('[data-testid="schedule-delay"] input').fill('1')
  await ui.fill('schedule-body', `${backend}-lost`)
  await page.locator('[data-testid="schedule-submit"]').click()
  await page.locator('[data-testid="schedule-dialog"]').waitFor({ state: 'detached', timeout: 15_000 })
  await page.locator('[data-testid="unrouted-nowhere"]').waitFor({ timeout: 40_000 })
  expect(got.has(`${backend}-lost`)).toBe(false)
}

// kept, so the node is stopped in afterAll even when this hook times out before it resolves
let rabbitStarting: Promise<RabbitMQNode> | undefined

beforeAll(async () => {
  rabbitStarting = startRabbitMQNode()
  const [opened, node] = await Promise.all([openConsole({ viewport: { width: 1400, height: 900 }, tickMs: 1000 }), rabbitStarting])
  rabbit = node
  ui = opened
  web = ui.web
  page = ui.page
}, 400_000)

afterAll(async () => {
  await ui?.close()
  await (rabbit ?? (await rabbitStarting?.catch(() => undefined)))?.stop()
}, 120_000)

describe('Scheduled view on the embedded broker', () => {
  it('schedules three, cancels one, reschedules one, delivers one now; a consumer gets the two; an unroutable one is shown', async () => {
    const consumer = await consumerOn(`amqp://guest:guest@127.0.0.1:${web.amqpPort}`, 'e2e-sched', 'e2e-sched-q')
    try {
      await userPath('e2e-sched', consumer.got, 'embedded').catch(async (e) => {
        await page.screenshot({ path: '/tmp/e2e-scheduled-fail.png' })
        throw e
      })
    } finally {
      await consumer.close()
    }
  }, 120_000)

  it('pages through 100,000 pending messages', async () => {
    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${web.amqpPort}`)
    const ch = await conn.createConfirmChannel()
    // the holder exchange as the console declares it (so this test also runs on its own)
    await ch.assertExchange('e2e-sched', 'direct', { durable: true })
    await ch.assertExchange('warren.delay', 'x-delayed-message', { durable: true, arguments: { 'x-delayed-type': 'headers' } })
    await ch.bindExchange('e2e-sched', 'warren.delay', '', { 'x-match': 'all', 'warren-delay-target': 'e2e-sched' })
    const start = Date.now() + 3_600_000
    for (let i = 0; i < 100_000; i++) {
      const due = start + i * 1000
      if (!ch.publish('warren.delay', 'job', Buffer.from(`bulk ${i}`), { headers: { 'x-delay': due - Date.now(), 'warren-delay-target': 'e2e-sched' } })) await new Promise((r) => ch.once('drain', r))
      if (i % 5000 === 4999) await ch.waitForConfirms()
    }
    await ch.waitForConfirms()
    await conn.close()
    await ui.go('/scheduled')
    await expect.poll(() => page.locator('[data-testid="scheduled-table"]').textContent(), { timeout: 30_000 }).toContain('100,000 pending')
    // the last page, then one near it (the page list shows both): the rows change within a few seconds, timed inside
    // the page from the click to the new first row (no test-driver polling in the measurement)
    for (const target of ['1000', '998']) {
      const ms = await page.evaluate(async (label) => {
        const firstRow = () => document.querySelector('[data-testid^="scheduled-row-"]')?.getAttribute('data-testid')
        const before = firstRow()
        const item = Array.from(document.querySelectorAll('[data-testid="scheduled-table"] .n-pagination-item')).find((e) => e.textContent?.trim() === label) as HTMLElement | undefined
        if (!item) throw new Error(`no page ${label} in the pagination`)
        const t0 = performance.now()
        const fetches: string[] = []
        const original = window.fetch
        window.fetch = async (...args: Parameters<typeof fetch>) => {
          const f0 = performance.now()
          const r = await original(...args)
          fetches.push(`${String(args[0]).split('/').pop()} ${Math.round(f0 - t0)}+${Math.round(performance.now() - f0)}`)
          return r
        }
        item.click()
        while (firstRow() === before) {
          if (performance.now() - t0 > 30_000) throw new Error('the page did not change')
          await new Promise((r) => requestAnimationFrame(r))
        }
        window.fetch = original
        return { total: performance.now() - t0, fetches }
      }, target)
      console.log(`page ${target}: ${Math.round(ms.total)} ms`, ms.fetches)
      expect(ms.total).toBeLessThan(5000)
    }
    const t = (await ui.command('scheduled.timeline', { vhost: '/', source: 'exchange:warren.delay', slots: 10 })) as { total: number }
    expect(t.total).toBe(100_000)
    await fetch(`${web.httpUrl}/api/exchanges/%2F/warren.delay/scheduled`, { method: 'DELETE', headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })
  }, 180_000)
})

describe('Scheduled view on a remote RabbitMQ profile (TTL + dead-letter delay queues)', () => {
  it('schedules three, cancels one, reschedules one, delivers one now; a consumer gets the two; an unroutable one is shown', async () => {
    const profile = (await ui.command('profiles.add', {
      name: 'Sched RabbitMQ',
      amqpUrl: rabbit.amqpUrl,
      managementUrl: rabbit.managementUrl,
      username: 'guest',
      password: 'guest',
      vhost: '/',
      production: false,
      readOnly: false,
    })) as { id: string }
    await ui.command('profiles.activate', { id: profile.id })
    const url = new URL(rabbit.amqpUrl)
    url.username = 'guest'
    url.password = 'guest'
    const consumer = await consumerOn(url.toString(), 'e2e-sched', 'e2e-sched-q')
    try {
      await userPath('e2e-sched', consumer.got, 'rabbitmq').catch(async (e) => {
        await page.screenshot({ path: '/tmp/e2e-scheduled-rabbit-fail.png' })
        throw e
      })
    } finally {
      await consumer.close()
      await ui.command('profiles.activate', { id: 'embedded' })
    }
  }, 120_000)

  it('had no uncaught errors in the page', () => {
    expect(ui.pageErrors).toEqual([])
  })
})
