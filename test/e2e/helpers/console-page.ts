// The web console (with its embedded broker) opened in Debian's Chromium, and the few page actions every e2e test
// uses. Screenshots go to docs/screenshots/ (refreshed when WARREN_SCREENSHOTS=1, written when missing).
import { existsSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Browser, Locator, Page } from 'playwright-core'
import { startWebConsole, type RunningWebConsole } from '../../../main/console/web-console'
import { launchChromium } from './browser'
import { ensureRendererBuilt } from './renderer-build'

const SHOTS = resolve(import.meta.dirname, '../../../docs/screenshots')

export interface ConsoleUnderTest {
  web: RunningWebConsole
  browser: Browser
  page: Page
  /** uncaught errors of the page; a test ends by expecting none */
  pageErrors: string[]
  /** the element with this data-testid */
  tid(id: string): Locator
  /**
   * Opens a view with a full page load: a goto that changes only the hash is a same-document navigation, and under
   * load the router could miss it (seen once in CI: the page stayed on the overview).
   */
  go(hash: string): Promise<void>
  /** Types into the input (or textarea) inside the element with this data-testid, or into the element itself. */
  fill(testid: string, value: string): Promise<void>
  /** Saves docs/screenshots/<name>.png, closing toasts first unless told to keep them (they would hide the view). */
  shot(name: string, options?: { keepToasts?: boolean }): Promise<void>
  /** A contract command through the web console's HTTP transport (for set-up and checks; user paths go through the UI). */
  command<T = unknown>(name: string, request?: unknown): Promise<T>
  close(): Promise<void>
}

export async function openConsole(options: { viewport: { width: number; height: number }; tickMs: number }): Promise<ConsoleUnderTest> {
  const staticDir = await ensureRendererBuilt()
  const web = await startWebConsole({ port: 0, httpPort: 0, host: '127.0.0.1', staticDir, tickMs: options.tickMs })
  let browser: Browser
  try {
    browser = await launchChromium()
  } catch (error) {
    await web.close()
    throw error
  }
  const page = await browser.newPage({ viewport: options.viewport })
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  await page.addInitScript(() => localStorage.setItem('warren.theme', 'light'))
  let visits = 0
  const tid = (id: string) => page.locator(`[data-testid="${id}"]`)
  return {
    web,
    browser,
    page,
    pageErrors,
    tid,
    async go(hash) {
      await page.goto(`${web.httpUrl}/?visit=${++visits}#${hash}`)
    },
    async fill(testid, value) {
      const el = tid(testid)
      const input = el.locator('input, textarea').first()
      await ((await input.count()) ? input : el).fill(value)
    },
    async shot(name, shotOptions) {
      const path = join(SHOTS, `${name}.png`)
      if (process.env.WARREN_SCREENSHOTS !== '1' && existsSync(path)) return
      mkdirSync(SHOTS, { recursive: true })
      if (!shotOptions?.keepToasts) {
        for (const close of await page.locator('.n-notification .n-base-close').all()) await close.click().catch(() => {})
      }
      await page.waitForTimeout(400) // let transitions settle
      await page.screenshot({ path })
    },
    async command<T>(name: string, request?: unknown): Promise<T> {
      const response = await fetch(`${web.httpUrl}/console/api/${name}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request ?? null) })
      const result = (await response.json()) as { ok: boolean; value?: T; error?: { code?: string; message: string } }
      if (!result.ok) throw new Error(`${name}: ${result.error?.code ?? ''} ${result.error?.message}`)
      return result.value as T
    },
    async close() {
      await browser.close()
      await web.close()
    },
  }
}
