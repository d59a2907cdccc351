// The web console in Debian's Chromium: a user's path through every main view, on the embedded broker and on a
// remote RabbitMQ profile. Screenshots of the main views go to docs/screenshots/ (refreshed when
// WARREN_SCREENSHOTS=1, written when missing).
import amqp from 'amqplib'
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWebConsole, type RunningWebConsole } from '../../main/console/web-console'
import { launchChromium } from './helpers/browser'
import { startRabbitMQNode, type RabbitMQNode } from './helpers/rabbitmq'
import { ensureRendererBuilt } from './helpers/renderer-build'

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots')

let web: RunningWebConsole
let rabbit: RabbitMQNode
let browser: Browser
let page: Page
const pageErrors: string[] = []

async function shot(name: string): Promise<void> {
  const path = join(SHOTS, `${name}.png`)
  if (process.env.WARREN_SCREENSHOTS !== '1' && existsSync(path)) return
  mkdirSync(SHOTS, { recursive: true })
  if (name !== 'error-toast') {
    // toasts of earlier steps would hide part of the view
    for (const close of await page.locator('.n-notification .n-base-close').all()) await close.click().catch(() => {})
  }
  await page.waitForTimeout(400) // let transitions settle
  await page.screenshot({ path })
}

let visits = 0

/**
 * Opens a view with a full page load: a goto that changes only the hash is a same-document navigation, and under
 * load the router could miss it (seen once in CI: the page stayed on the overview).
 */
async function go(hash: string): Promise<void> {
  await page.goto(`${web.httpUrl}/?visit=${++visits}#${hash}`)
}

async function fill(testid: string, value: string): Promise<void> {
  const el = page.locator(`[data-testid="${testid}"]`)
  const input = el.locator('input, textarea').first()
  await ((await input.count()) ? input : el).fill(value)
}

beforeAll(async () => {
  const [staticDir, node] = await Promise.all([ensureRendererBuilt(), startRabbitMQNode()])
  rabbit = node
  web = await startWebConsole({ port: 0, httpPort: 0, host: '127.0.0.1', staticDir, tickMs: 1000 })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1400, height: 860 } })
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.addInitScript(() => localStorage.setItem('warren.theme', 'light'))
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await web?.close()
  await rabbit?.stop()
})

/** create a queue, publish to it, see it in the overview and the browser, delete it */
async function userPath(queue: string, backend: 'embedded' | 'rabbitmq'): Promise<void> {
  // Queues: create with a typed argument
  await go('/queues')
  await page.locator('[data-testid="queue-create-open"]').click()
  await fill('queue-name', queue)
  await page.locator('[data-testid="arg-x-max-length"] input').fill('5000')
  if (backend === 'embedded') await shot('queue-create')
  await page.locator('[data-testid="queue-create"]').click()
  await fill('queue-filter', queue)
  await page.locator(`[data-testid="queue-row-${queue}"]`).waitFor()

  // a conflicting redeclaration comes back as a toast with the broker's reply
  await page.locator('[data-testid="queue-create-open"]').click()
  await fill('queue-name', queue)
  await page.locator('[data-testid="queue-create-dialog"] .n-switch').first().click() // durable off
  await page.locator('[data-testid="queue-create"]').click()
  await page.locator('.n-notification', { hasText: "inequivalent arg 'durable'" }).waitFor()
  await expect.poll(() => page.locator('.n-notification', { hasText: 'inequivalent' }).textContent()).toMatch(/400|406/)
  if (backend === 'embedded') await shot('error-toast')
  await page.keyboard.press('Escape')

  // Publish: JSON body, headers, repeat
  await go(`/publish?vhost=%2F&routingKey=${queue}`)
  await page.locator('[data-testid="publish-json"]').click()
  await fill('publish-body', JSON.stringify({ order: 42, item: 'carrot' }))
  await fill('publish-headers', '{"tenant": "acme"}')
  await page.locator('[data-testid="publish-repeat"] input').fill('3')
  await page.locator('[data-testid="publish-send"]').click()
  await expect.poll(() => page.locator('[data-testid="publish-result"]').textContent()).toContain('3 published, 3 routed')
  if (backend === 'embedded') await shot('publish')

  // Overview: the totals (pushed ticks) show the queue and its messages
  await go('/overview')
  await expect.poll(() => page.locator('[data-testid="total-messages"]').textContent(), { timeout: 20_000 }).toMatch(/[3-9]/)
  await expect.poll(() => page.locator('[data-testid="overview-product"]').textContent()).toContain(backend === 'embedded' ? 'Warren' : 'RabbitMQ')
  if (backend === 'embedded') await page.waitForTimeout(2500) // a few ticks for the charts
  await shot(backend === 'embedded' ? 'overview' : 'overview-rabbitmq')

  // Message browser: page, select, pretty JSON, headers
  await go(`/messages?vhost=%2F&queue=${queue}`)
  await page.locator('[data-testid="message-row-2"]').waitFor({ timeout: 20_000 })
  await page.locator('[data-testid="message-row-0"]').click()
  await expect.poll(() => page.locator('[data-testid="payload-json"]').textContent()).toContain('"item": "carrot"')
  await expect.poll(() => page.locator('[data-testid="message-headers"]').textContent()).toContain('acme')
  if (backend === 'embedded') await expect(page.locator('[data-testid="browse-peek"]').isVisible()).resolves.toBe(true)
  else await expect.poll(() => page.locator('[data-testid="browse-notice"]').textContent()).toContain('redelivered')
  await fill('browse-search', 'nothing-matches-this')
  await expect.poll(() => page.locator('[data-testid="message-row-1"]').count()).toBe(0)
  await fill('browse-search', '')
  await page.locator('[data-testid="message-row-0"]').click()
  await shot(backend === 'embedded' ? 'message-browser' : 'message-browser-rabbitmq')

  // Queues: details, then delete after typing the name
  await go('/queues')
  await fill('queue-filter', queue)
  await page.locator(`[data-testid="queue-row-${queue}"]`).click()
  await expect.poll(() => page.locator('[data-testid="queue-ready"]').textContent(), { timeout: 20_000 }).toBe('3')
  if (backend === 'embedded') await shot('queue-details')
  await page.locator('[data-testid="queue-delete"]').click()
  await expect(page.locator('[data-testid="confirm-button"]').isDisabled()).resolves.toBe(true)
  await fill('confirm-name', queue)
  await page.locator('[data-testid="confirm-button"]').click()
  await expect.poll(() => page.locator(`[data-testid="queue-row-${queue}"]`).count()).toBe(0)
}

describe('web console on the embedded broker', () => {
  it('shows the embedded broker as the active profile, with its AMQP and HTTP addresses', async () => {
    await go('/overview')
    await expect.poll(() => page.locator('[data-testid="embedded-status"]').textContent()).toContain(web.httpUrl)
    await expect.poll(() => page.locator('[data-testid="profile-switcher"]').textContent()).toContain('Embedded broker')
  })

  it('creates a queue, publishes to it, sees it in the overview and the browser, deletes it', async () => {
    await userPath('e2e-orders', 'embedded').catch(async (e) => {
      await page.screenshot({ path: '/tmp/e2e-fail.png' })
      throw e
    })
  }, 90_000)

  it('lists connections and channels, closes a connection after its name is typed, and switches to the dark theme', async () => {
    const client = await amqp.connect(`amqp://guest:guest@127.0.0.1:${web.amqpPort}`, { clientProperties: { connection_name: 'e2e-client' } })
    client.on('error', () => {})
    const closed = new Promise<unknown>((resolve) => client.on('close', resolve))
    await client.createChannel()
    await go('/clients')
    await page.getByText('Connections (1)').waitFor()
    await shot('connections')
    const close = page.locator('[data-testid^="close-"]').first()
    const name = ((await close.getAttribute('data-testid')) ?? '').slice('close-'.length)
    await close.click()
    await fill('confirm-name', name)
    await page.locator('[data-testid="confirm-button"]').click()
    expect(((await closed) as { code?: number }).code).toBe(320)
    await page.getByText('Connections (0)').waitFor()
    await go('/exchanges')
    await page.getByText('amq.topic').waitFor()
    await shot('exchanges')
    await page.keyboard.press('Alt+1')
    await page.locator('[data-testid="theme-toggle"]').click()
    await page.waitForTimeout(1500)
    await shot('overview-dark')
    await page.locator('[data-testid="theme-toggle"]').click()
  })
})

describe('web console on a remote RabbitMQ profile', () => {
  it('adds a production profile, tests it and makes it active', async () => {
    await page.keyboard.press('Alt+0')
    await page.locator('[data-testid="profile-add-open"]').click()
    await fill('profile-name', 'Local RabbitMQ')
    await fill('profile-amqp', rabbit.amqpUrl)
    await fill('profile-mgmt', rabbit.managementUrl)
    await fill('profile-user', 'guest')
    await fill('profile-password', 'guest')
    await page.locator('[data-testid="profile-production"]').click()
    await page.locator('[data-testid="profile-test"]').click()
    await expect.poll(() => page.locator('[data-testid="profile-test-result"]').textContent(), { timeout: 20_000 }).toContain('RabbitMQ 3.')
    await page.locator('[data-testid="profile-save"]').click()
    await page.locator('[data-testid="profile-activate-Local RabbitMQ"]').click()
    await page.locator('[data-testid="production-tag"]').waitFor()
    await shot('profiles')
  })

  it('creates a queue, publishes to it, sees it in the overview and the browser, deletes it', async () => {
    await userPath('e2e-rabbit-orders', 'rabbitmq').catch(async (e) => {
      await page.screenshot({ path: '/tmp/e2e-fail.png' })
      throw e
    })
  }, 90_000)

  it('disables every change once the profile is made read-only', async () => {
    await go('/profiles')
    await page.locator('[data-testid="profile-edit-Local RabbitMQ"]').click()
    await page.locator('[data-testid="profile-readonly"]').click()
    await page.locator('[data-testid="profile-save"]').click()
    await page.locator('[data-testid="readonly-tag"]').waitFor()
    await go('/queues')
    await expect(page.locator('[data-testid="queue-create-open"]').isDisabled()).resolves.toBe(true)
    await go('/publish')
    await expect(page.locator('[data-testid="publish-send"]').isDisabled()).resolves.toBe(true)
  })

  it('had no uncaught errors in the page', () => {
    expect(pageErrors).toEqual([])
  })
})
