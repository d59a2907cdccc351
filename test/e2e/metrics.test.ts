// Metrics history and channel close in the web console (Debian's Chromium), on the embedded broker: a queue with
// traffic shows rates and depth charts in its details, the overview switches between live and 1 h / 6 h / 24 h
// history, and one channel of a client is closed from the Clients view while its connection keeps working.
// Screenshot: docs/screenshots/queue-details.png (refreshed when WARREN_SCREENSHOTS=1, written when missing).
import amqp from 'amqplib'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { RunningWebConsole } from '../../main/console/web-console'
import { openConsole, type ConsoleUnderTest } from './helpers/console-page'

const QUEUE = 'e2e-metrics-orders'
const EXCHANGE = 'e2e-metrics-events'

let ui: ConsoleUnderTest
let web: RunningWebConsole
let page: Page
let client: amqp.ChannelModel
let publisher: amqp.Channel
let consumer: amqp.Channel
let publishing: ReturnType<typeof setInterval> | undefined

beforeAll(async () => {
  ui = await openConsole({ viewport: { width: 1400, height: 900 }, tickMs: 1000 })
  web = ui.web
  page = ui.page

  // a client with two channels: one publishes steadily, the other consumes and acks more slowly (the queue grows)
  client = await amqp.connect(`amqp://guest:guest@127.0.0.1:${web.amqpPort}`, { clientProperties: { connection_name: 'e2e-metrics-client' } })
  client.on('error', () => {})
  publisher = await client.createChannel()
  consumer = await client.createChannel()
  consumer.on('error', () => {})
  await publisher.assertQueue(QUEUE, { durable: false })
  await publisher.assertExchange(EXCHANGE, 'fanout', { durable: false })
  await publisher.bindQueue(QUEUE, EXCHANGE, '')
  await consumer.prefetch(5)
  await consumer.consume(QUEUE, (m) => {
    if (!m) return
    setTimeout(() => {
      try {
        consumer.ack(m)
      } catch {
        // the last test closes this channel from the console
      }
    }, 150)
  })
  publishing = setInterval(() => {
    for (let i = 0; i < 2; i++) publisher.sendToQueue(QUEUE, Buffer.from(JSON.stringify({ order: i })))
    for (let i = 0; i < 2; i++) publisher.publish(EXCHANGE, '', Buffer.from(JSON.stringify({ order: i, via: EXCHANGE })))
  }, 100)
}, 180_000)

afterAll(async () => {
  clearInterval(publishing)
  await client?.close().catch(() => {})
  await ui?.close()
})

describe('metrics history and channel close in the web console', () => {
  it('shows a queue’s rates and depth charts with data in its details, for each range', async () => {
    await ui.go('/queues')
    await ui.tid('queue-filter').locator('input').fill(QUEUE)
    await ui.tid(`queue-row-${QUEUE}`).click()
    // the details page asks for the history: the queue is sampled from then on, and the charts fill
    await ui.tid('queue-rate-chart').waitFor({ timeout: 30_000 })
    await expect.poll(async () => Number(/^(\d+) points/.exec((await ui.tid('queue-rates-points').textContent()) ?? '')?.[1] ?? 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(3)
    await expect(ui.tid('queue-rate-chart').locator('canvas').count()).resolves.toBeGreaterThan(0)
    await expect(ui.tid('queue-depth-chart').locator('canvas').count()).resolves.toBeGreaterThan(0)
    await page.waitForTimeout(6000) // a few more samples for the picture
    await ui.shot('queue-details')

    await ui.tid('queue-range-1h').click()
    await expect.poll(() => ui.tid('queue-rates-points').textContent(), { timeout: 15_000 }).toMatch(/^\d+ points · 8 s each/)
    await ui.tid('queue-range-24h').click()
    await expect.poll(() => ui.tid('queue-rates-points').textContent(), { timeout: 15_000 }).toMatch(/^\d+ points · 173 s each/)
    await ui.tid('queue-range-live').click()
    await expect.poll(() => ui.tid('queue-rates-points').textContent(), { timeout: 15_000 }).toMatch(/^\d+ points · 5 s each/)
    await page.keyboard.press('Escape')
  }, 120_000)

  it('shows an exchange’s publish in/out rates in its details', async () => {
    await ui.go('/exchanges')
    await ui.tid(`exchange-row-${EXCHANGE}`).click()
    await ui.tid('exchange-rate-chart').waitFor({ timeout: 30_000 })
    await expect.poll(async () => Number(/^(\d+) points/.exec((await ui.tid('exchange-rates-points').textContent()) ?? '')?.[1] ?? 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(2)
    await expect(ui.tid('exchange-rate-chart').locator('canvas').count()).resolves.toBeGreaterThan(0)
    await page.keyboard.press('Escape')
  }, 60_000)

  it('switches the overview charts between live and 1 h / 6 h / 24 h of history', async () => {
    await ui.go('/overview')
    await ui.tid('rate-chart').waitFor()
    const title = () => page.locator('.n-card-header', { hasText: 'Message rates' }).textContent()
    await expect.poll(title).toContain('(live)')
    for (const [range, label] of [
      ['1h', 'last 1 h'],
      ['6h', 'last 6 h'],
      ['24h', 'last 24 h'],
    ] as const) {
      await ui.tid(`overview-range-${range}`).click()
      await expect.poll(title).toContain(`(${label})`)
      await ui.tid('rate-chart').locator('canvas').waitFor()
      await ui.tid('queued-chart').locator('canvas').waitFor()
    }
    await ui.tid('overview-range-live').click()
    await expect.poll(title).toContain('(live)')
    await ui.tid('rate-chart').locator('canvas').waitFor()
    await page.waitForTimeout(3000) // a few ticks after the history
    await ui.shot('overview-live-history')
  })

  it('closes one channel after its name is typed: the client sees 320 on it, the connection keeps publishing', async () => {
    const closedWith = new Promise<{ code?: number }>((resolve) => consumer.once('error', resolve))
    const number = (consumer as unknown as { ch: number }).ch
    await ui.go('/clients')
    await page.getByText(/^Channels \(\d+\)$/).click()
    const button = page.locator(`[data-testid^="close-channel-"][data-testid$="(${number})"]`)
    await button.waitFor()
    const name = ((await button.getAttribute('data-testid')) ?? '').slice('close-channel-'.length)
    expect(name).toMatch(/e2e|->/)
    await button.click()
    await expect(ui.tid('confirm-button').isDisabled()).resolves.toBe(true)
    await ui.tid('confirm-name').locator('input').fill(name)
    await ui.tid('confirm-button').click()
    expect((await closedWith).code).toBe(320)
    // the other channel of the same connection still works
    await publisher.checkQueue(QUEUE)
    await expect.poll(() => page.locator(`[data-testid="close-channel-${name}"]`).count(), { timeout: 10_000 }).toBe(0)
    expect(ui.pageErrors).toEqual([])
  })

  it('on a remote profile, explains that only whole connections can be closed and offers no channel close', async () => {
    // a remote profile (here the same broker seen as a remote one): the backend would answer UNSUPPORTED
    await ui.go('/profiles')
    await ui.tid('profile-add-open').click()
    await ui.tid('profile-name').locator('input').fill('Seen as remote')
    await ui.tid('profile-amqp').locator('input').fill(web.amqpUrl)
    await ui.tid('profile-mgmt').locator('input').fill(web.httpUrl)
    await ui.tid('profile-user').locator('input').fill('guest')
    await ui.tid('profile-password').locator('input').fill('guest')
    await ui.tid('profile-save').click()
    await ui.tid('profile-activate-Seen as remote').click()
    await ui.go('/clients')
    await page.getByText(/^Channels \(\d+\)$/).click()
    await expect.poll(() => ui.tid('channel-close-unsupported').textContent()).toContain('only the whole connection')
    const buttons = page.locator('[data-testid^="close-channel-"]')
    await buttons.first().waitFor()
    for (const b of await buttons.all()) await expect(b.isDisabled()).resolves.toBe(true)
    await ui.go('/profiles')
    await ui.tid('profile-activate-Embedded broker').click()
  })
})
