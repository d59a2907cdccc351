// The web console in Debian's Chromium: a user's path through every main view, on the embedded broker and on a
// remote RabbitMQ profile. Screenshots of the main views go to docs/screenshots/ (refreshed when
// WARREN_SCREENSHOTS=1, written when missing).
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

beforeAll(async () => {
  const [opened, node] = await Promise.all([openConsole({ viewport: { width: 1400, height: 860 }, tickMs: 1000 }), startRabbitMQNode()])
  rabbit = node
  ui = opened
  web = ui.web
  page = ui.page
}, 180_000)

afterAll(async () => {
  await ui?.close()
  await rabbit?.stop()
})

/** create a queue, publish to it, see it in the overview and the browser, delete it */
async function userPath(queue: string, backend: 'embedded' | 'rabbitmq'): Promise<void> {
  // Queues: create with a typed argument
  await ui.go('/queues')
  await page.locator('[data-testid="queue-create-open"]').click()
  await ui.fill('queue-name', queue)
  await page.locator('[data-testid="arg-x-max-length"] input').fill('5000')
  if (backend === 'embedded') await ui.shot('queue-create')
  await page.locator('[data-testid="queue-create"]').click()
  await ui.fill('queue-filter', queue)
  await page.locator(`[data-testid="queue-row-${queue}"]`).waitFor()

  // a conflicting redeclaration comes back as a toast with the broker's reply
  await page.locator('[data-testid="queue-create-open"]').click()
  await ui.fill('queue-name', queue)
  await page.locator('[data-testid="queue-create-dialog"] .n-switch').first().click() // durable off
  await page.locator('[data-testid="queue-create"]').click()
  await page.locator('.n-notification', { hasText: "inequivalent arg 'durable'" }).waitFor()
  await expect.poll(() => page.locator('.n-notification', { hasText: 'inequivalent' }).textContent()).toMatch(/400|406/)
  if (backend === 'embedded') await ui.shot('error-toast', { keepToasts: true })
  await page.keyboard.press('Escape')

  // Publish: JSON body, headers, repeat
  await ui.go(`/publish?vhost=%2F&routingKey=${queue}`)
  await page.locator('[data-testid="publish-json"]').click()
  await ui.fill('publish-body', JSON.stringify({ order: 42, item: 'carrot' }))
  await ui.fill('publish-headers', '{"tenant": "acme"}')
  await page.locator('[data-testid="publish-repeat"] input').fill('3')
  await page.locator('[data-testid="publish-send"]').click()
  await expect.poll(() => page.locator('[data-testid="publish-result"]').textContent()).toContain('3 published, 3 routed')
  if (backend === 'embedded') await ui.shot('publish')

  // Overview: the totals (pushed ticks) show the queue and its messages
  await ui.go('/overview')
  await expect.poll(() => page.locator('[data-testid="total-messages"]').textContent(), { timeout: 20_000 }).toMatch(/[3-9]/)
  await expect.poll(() => page.locator('[data-testid="overview-product"]').textContent()).toContain(backend === 'embedded' ? 'Warren' : 'RabbitMQ')
  if (backend === 'embedded') await page.waitForTimeout(2500) // a few ticks for the charts
  await ui.shot(backend === 'embedded' ? 'overview' : 'overview-rabbitmq')

  // Message browser: page, select, pretty JSON, headers
  await ui.go(`/messages?vhost=%2F&queue=${queue}`)
  await page.locator('[data-testid="message-row-2"]').waitFor({ timeout: 20_000 })
  await page.locator('[data-testid="message-row-0"]').click()
  await expect.poll(() => page.locator('[data-testid="payload-json"]').textContent()).toContain('"item": "carrot"')
  await expect.poll(() => page.locator('[data-testid="message-headers"]').textContent()).toContain('acme')
  if (backend === 'embedded') await expect(page.locator('[data-testid="browse-peek"]').isVisible()).resolves.toBe(true)
  else await expect.poll(() => page.locator('[data-testid="browse-notice"]').textContent()).toContain('redelivered')
  await ui.fill('browse-search', 'nothing-matches-this')
  await expect.poll(() => page.locator('[data-testid="message-row-1"]').count()).toBe(0)
  await ui.fill('browse-search', '')
  await page.locator('[data-testid="message-row-0"]').click()
  await ui.shot(backend === 'embedded' ? 'message-browser' : 'message-browser-rabbitmq')

  // Queues: details, then delete after typing the name
  await ui.go('/queues')
  await ui.fill('queue-filter', queue)
  await page.locator(`[data-testid="queue-row-${queue}"]`).click()
  await expect.poll(() => page.locator('[data-testid="queue-ready"]').textContent(), { timeout: 20_000 }).toBe('3')
  if (backend === 'embedded') await ui.shot('queue-details')
  await page.locator('[data-testid="queue-delete"]').click()
  await expect(page.locator('[data-testid="confirm-button"]').isDisabled()).resolves.toBe(true)
  await ui.fill('confirm-name', queue)
  await page.locator('[data-testid="confirm-button"]').click()
  await expect.poll(() => page.locator(`[data-testid="queue-row-${queue}"]`).count()).toBe(0)
}

describe('web console on the embedded broker', () => {
  it('shows the embedded broker as the active profile, with its AMQP and HTTP addresses', async () => {
    await ui.go('/overview')
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
    await ui.go('/clients')
    await page.getByText('Connections (1)').waitFor()
    await ui.shot('connections')
    const close = page.locator('[data-testid^="close-"]').first()
    const name = ((await close.getAttribute('data-testid')) ?? '').slice('close-'.length)
    await close.click()
    await ui.fill('confirm-name', name)
    await page.locator('[data-testid="confirm-button"]').click()
    expect(((await closed) as { code?: number }).code).toBe(320)
    await page.getByText('Connections (0)').waitFor()
    await ui.go('/exchanges')
    await page.getByText('amq.topic').waitFor()
    await ui.shot('exchanges')
    await page.keyboard.press('Alt+1')
    await page.locator('[data-testid="theme-toggle"]').click()
    await page.waitForTimeout(1500)
    await ui.shot('overview-dark')
    await page.locator('[data-testid="theme-toggle"]').click()
  })
})

describe('web console on a remote RabbitMQ profile', () => {
  it('adds a production profile, tests it and makes it active', async () => {
    await page.keyboard.press('Alt+0')
    await page.locator('[data-testid="profile-add-open"]').click()
    await ui.fill('profile-name', 'Local RabbitMQ')
    await ui.fill('profile-amqp', rabbit.amqpUrl)
    await ui.fill('profile-mgmt', rabbit.managementUrl)
    await ui.fill('profile-user', 'guest')
    await ui.fill('profile-password', 'guest')
    await page.locator('[data-testid="profile-production"]').click()
    await page.locator('[data-testid="profile-test"]').click()
    await expect.poll(() => page.locator('[data-testid="profile-test-result"]').textContent(), { timeout: 20_000 }).toContain('RabbitMQ 3.')
    await page.locator('[data-testid="profile-save"]').click()
    await page.locator('[data-testid="profile-activate-Local RabbitMQ"]').click()
    await page.locator('[data-testid="production-tag"]').waitFor()
    await ui.shot('profiles')
  })

  it('creates a queue, publishes to it, sees it in the overview and the browser, deletes it', async () => {
    await userPath('e2e-rabbit-orders', 'rabbitmq').catch(async (e) => {
      await page.screenshot({ path: '/tmp/e2e-fail.png' })
      throw e
    })
  }, 90_000)

  it('disables every change once the profile is made read-only', async () => {
    await ui.go('/profiles')
    await page.locator('[data-testid="profile-edit-Local RabbitMQ"]').click()
    await page.locator('[data-testid="profile-readonly"]').click()
    await page.locator('[data-testid="profile-save"]').click()
    await page.locator('[data-testid="readonly-tag"]').waitFor()
    await ui.go('/queues')
    await expect(page.locator('[data-testid="queue-create-open"]').isDisabled()).resolves.toBe(true)
    await ui.go('/publish')
    await expect(page.locator('[data-testid="publish-send"]').isDisabled()).resolves.toBe(true)
  })

  it('had no uncaught errors in the page', () => {
    expect(ui.pageErrors).toEqual([])
  })
})
