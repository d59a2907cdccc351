// Metrics history and channel close in the web console (Debian's Chromium), on the embedded broker: a queue with
// traffic shows rates and depth charts in its details, the overview switches between live and 1 h / 6 h / 24 h
// history, and one channel of a client is closed from the Clients view while its connection keeps working.
// Screenshot: docs/screenshots/queue-details.png (refreshed when WARREN_SCREENSHOTS=1, written when missing).
import amqp from 'amqplib'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebConsole, type RunningWebConsole } from '../../main/console/web-console'
import { launchChromium } from './helpers/browser'
import { ensureRendererBuilt } from './helpers/renderer-build'

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')
const QUEUE = 'e2e-metrics-orders'
const EXCHANGE = 'e2e-metrics-events'

let web: RunningWebConsole
let browser: Browser
let page: Page
let client: amqp.ChannelModel
let publisher: amqp.Channel
let consumer: amqp.Channel
let publishing: ReturnType<typeof setInterval> | undefined
const pageErrors: string[] = []
let visits = 0

async function shot(name: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`)
  if (process.env.WARREN_SCREENSHOTS !== '1' && existsSync(path)) return
  mkdirSync(SHOTS, { recursive: true })
  for (const close of await page.locator('.n-notification .n-base-close').all()) await close.click().catch(() => {})
  await page.waitForTimeout(400)
  await page.screenshot({ path })
}

async function go(hash: string): Promise<void> {
  await page.goto(`${web.httpUrl}/?visit=${++visits}#${hash}`)
}

const testid = (id: string) => page.locator(`[data-testid="${id}"]`)

beforeAll(async () => {
  const staticDir = await ensureRendererBuilt()
  web = await startWebConsole({ port: 0, httpPort: 0, host: '127.0.0.1', staticDir, tickMs: 1000 })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.addInitScript(() => localStorage.setItem('warren.theme', 'light'))

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
  await browser?.close()
  await web?.close()
})

describe('metrics history and channel close in the web console', () => {
  it('shows a queue’s rates and depth charts with data in its details, for each range', async () => {
    await go('/queues')
    await testid('queue-filter').locator('input').fill(QUEUE)
    await testid(`queue-row-${QUEUE}`).click()
    // the details page asks for the history: the queue is sampled from then on, and the charts fill
    await testid('queue-rate-chart').waitFor({ timeout: 30_000 })
    await expect.poll(async () => Number(/^(\d+) points/.exec((await testid('queue-rates-points').textContent()) ?? '')?.[1] ?? 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(3)
    await expect(testid('queue-rate-chart').locator('canvas').count()).resolves.toBeGreaterThan(0)
    await expect(testid('queue-depth-chart').locator('canvas').count()).resolves.toBeGreaterThan(0)
    await page.waitForTimeout(6000) // a few more samples for the picture
    await shot('queue-details')

    await testid('queue-range-1h').click()
    await expect.poll(() => testid('queue-rates-points').textContent(), { timeout: 15_000 }).toMatch(/^\d+ points · 8 s each/)
    await testid('queue-range-24h').click()
    await expect.poll(() => testid('queue-rates-points').textContent(), { timeout: 15_000 }).toMatch(/^\d+ points · 173 s each/)
    await testid('queue-range-live').click()
    await expect.poll(() => testid('queue-rates-points').textContent(), { timeout: 15_000 }).toMatch(/^\d+ points · 5 s each/)
    await page.keyboard.press('Escape')
  }, 120_000)

  it('shows an exchange’s publish in/out rates in its details', async () => {
    await go('/exchanges')
    await testid(`exchange-row-${EXCHANGE}`).click()
    await testid('exchange-rate-chart').waitFor({ timeout: 30_000 })
    await expect.poll(async () => Number(/^(\d+) points/.exec((await testid('exchange-rates-points').textContent()) ?? '')?.[1] ?? 0), { timeout: 30_000 }).toBeGreaterThanOrEqual(2)
    await expect(testid('exchange-rate-chart').locator('canvas').count()).resolves.toBeGreaterThan(0)
    await page.keyboard.press('Escape')
  }, 60_000)

  it('switches the overview charts between live and 1 h / 6 h / 24 h of history', async () => {
    await go('/overview')
    await testid('rate-chart').waitFor()
    const title = () => page.locator('.n-card-header', { hasText: 'Message rates' }).textContent()
    await expect.poll(title).toContain('(live)')
    for (const [range, label] of [
      ['1h', 'last 1 h'],
      ['6h', 'last 6 h'],
      ['24h', 'last 24 h'],
    ] as const) {
      await testid(`overview-range-${range}`).click()
      await expect.poll(title).toContain(`(${label})`)
      await testid('rate-chart').locator('canvas').waitFor()
      await testid('queued-chart').locator('canvas').waitFor()
    }
    await testid('overview-range-live').click()
    await expect.poll(title).toContain('(live)')
    await testid('rate-chart').locator('canvas').waitFor()
    await page.waitForTimeout(3000) // a few ticks after the history
    await shot('overview-live-history')
  })

  it('closes one channel after its name is typed: the client sees 320 on it, the connection keeps publishing', async () => {
    const closedWith = new Promise<{ code?: number }>((resolve) => consumer.once('error', resolve))
    const number = (consumer as unknown as { ch: number }).ch
    await go('/clients')
    await page.getByText(/^Channels \(\d+\)$/).click()
    const button = page.locator(`[data-testid^="close-channel-"][data-testid$="(${number})"]`)
    await button.waitFor()
    const name = ((await button.getAttribute('data-testid')) ?? '').slice('close-channel-'.length)
    expect(name).toMatch(/e2e|->/)
    await button.click()
    await expect(testid('confirm-button').isDisabled()).resolves.toBe(true)
    await testid('confirm-name').locator('input').fill(name)
    await testid('confirm-button').click()
    expect((await closedWith).code).toBe(320)
    // the other channel of the same connection still works
    await publisher.checkQueue(QUEUE)
    await expect.poll(() => page.locator(`[data-testid="close-channel-${name}"]`).count(), { timeout: 10_000 }).toBe(0)
    expect(pageErrors).toEqual([])
  })

  it('on a remote profile, explains that only whole connections can be closed and offers no channel close', async () => {
    // a remote profile (here the same broker seen as a remote one): the backend would answer UNSUPPORTED
    await go('/profiles')
    await testid('profile-add-open').click()
    await testid('profile-name').locator('input').fill('Seen as remote')
    await testid('profile-amqp').locator('input').fill(web.amqpUrl)
    await testid('profile-mgmt').locator('input').fill(web.httpUrl)
    await testid('profile-user').locator('input').fill('guest')
    await testid('profile-password').locator('input').fill('guest')
    await testid('profile-save').click()
    await testid('profile-activate-Seen as remote').click()
    await go('/clients')
    await page.getByText(/^Channels \(\d+\)$/).click()
    await expect.poll(() => testid('channel-close-unsupported').textContent()).toContain('only the whole connection')
    const buttons = page.locator('[data-testid^="close-channel-"]')
    await buttons.first().waitFor()
    for (const b of await buttons.all()) await expect(b.isDisabled()).resolves.toBe(true)
    await go('/profiles')
    await testid('profile-activate-Embedded broker').click()
  })
})
