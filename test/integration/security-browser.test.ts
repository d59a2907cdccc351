// CSRF with a real browser (Debian's Chromium through playwright-core): a page on another site tries to change the
// broker through the management API — a "simple" no-cors POST (sent by the browser without a preflight) and a PUT
// with basic-auth credentials (preflighted) — and fails: the broker refuses both before authentication and nothing
// changes. A page served from the API's own origin (as the web console is) does the same PUT and succeeds.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { launchChromium } from '../e2e/helpers/browser'
import { uniq, waitFor } from '../helpers/broker'

const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`
const lines: string[] = []
let broker: BrokerHandle
let evil: Server
let evilOrigin: string
let browser: Browser

const page = (title: string) => `<!doctype html><html><head><title>${title}</title></head><body>${title}</body></html>`

beforeAll(async () => {
  broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    httpPort: 0,
    logger: { info: () => {}, warn: (m) => void lines.push(m), error: (m) => void lines.push(m) },
    // a page served from the API's own origin, as the web console's are
    httpHandlers: [
      (req, res) => {
        if (req.url !== '/console/same-origin.html') return false
        res.writeHead(200, { 'content-type': 'text/html' }).end(page('same origin'))
        return true
      },
    ],
  })
  // the attacker's site: another host name (localhost vs 127.0.0.1), so the browser calls it cross-site
  evil = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page('evil')))
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()))
  evilOrigin = `http://localhost:${(evil.address() as AddressInfo).port}`
  browser = await launchChromium()
}, 60_000)
afterAll(async () => {
  await browser?.close()
  await new Promise<void>((r) => (evil ? evil.close(() => r()) : r()))
  await broker?.close()
})

const api = () => `http://127.0.0.1:${broker.httpPort}`
async function queueExists(name: string): Promise<boolean> {
  return (await fetch(`${api()}/api/queues/%2F/${name}`, { headers: { authorization: GUEST } })).status === 200
}

describe('a page on another site', () => {
  it('cannot publish with a no-cors POST: the browser sends it, the broker refuses it as cross-site', async () => {
    const queue = uniq('csrf-publish')
    expect((await fetch(`${api()}/api/queues/%2F/${queue}`, { method: 'PUT', headers: { authorization: GUEST, 'content-type': 'application/json' }, body: '{}' })).status).toBe(201)
    const tab = await browser.newPage()
    try {
      await tab.goto(`${evilOrigin}/`)
      const from = lines.length
      const body = JSON.stringify({ routing_key: queue, payload: 'forged', payload_encoding: 'string', properties: {} })
      const sent = await tab.evaluate(
        async ([url, text]) => {
          await fetch(url, { method: 'POST', mode: 'no-cors', credentials: 'include', headers: { 'content-type': 'text/plain' }, body: text })
          return 'sent'
        },
        [`${api()}/api/exchanges/%2F/amq.default/publish`, body] as const,
      )
      expect(sent).toBe('sent')
      // the browser's own headers told the broker where the request came from
      await waitFor(() => lines.slice(from).some((l) => l.includes('POST /api/exchanges/%2F/amq.default/publish') && /cross-site request refused \((Sec-Fetch-Site: cross-site|Origin http:\/\/localhost:\d+ is not this server)\)/.test(l)), 5_000)
      const state = await (await fetch(`${api()}/api/queues/%2F/${queue}`, { headers: { authorization: GUEST } })).json()
      expect(state.messages).toBe(0)
    } finally {
      await tab.close()
    }
  })

  it('cannot declare with credentials: the preflight is refused, so the PUT is never sent', async () => {
    const queue = uniq('csrf-put')
    const tab = await browser.newPage()
    try {
      await tab.goto(`${evilOrigin}/`)
      const outcome = await tab.evaluate(
        async ([url, authorization]) => {
          try {
            const response = await fetch(url, { method: 'PUT', headers: { authorization, 'content-type': 'application/json' }, body: '{}' })
            return `status ${response.status}`
          } catch (e) {
            return `blocked: ${(e as Error).name}`
          }
        },
        [`${api()}/api/queues/%2F/${queue}`, GUEST] as const,
      )
      expect(outcome).toBe('blocked: TypeError')
      expect(await queueExists(queue)).toBe(false)
    } finally {
      await tab.close()
    }
  })

  it('cannot read definitions (users and password hashes) with a cross-site GET', async () => {
    const tab = await browser.newPage()
    try {
      await tab.goto(`${evilOrigin}/`)
      const outcome = await tab.evaluate(async (url) => {
        try {
          const response = await fetch(url, { credentials: 'include' })
          return `read ${(await response.text()).length} bytes`
        } catch (e) {
          return `blocked: ${(e as Error).name}`
        }
      }, `${api()}/api/definitions`)
      expect(outcome).toBe('blocked: TypeError')
    } finally {
      await tab.close()
    }
  })
})

describe('a page from the API\'s own origin (the web console)', () => {
  it('declares a queue with the same PUT', async () => {
    const queue = uniq('same-origin')
    const tab = await browser.newPage()
    try {
      await tab.goto(`${api()}/console/same-origin.html`)
      const status = await tab.evaluate(
        async ([path, authorization]) => (await fetch(path, { method: 'PUT', headers: { authorization, 'content-type': 'application/json' }, body: '{}' })).status,
        [`/api/queues/%2F/${queue}`, GUEST] as const,
      )
      expect(status).toBe(201)
      expect(await queueExists(queue)).toBe(true)
    } finally {
      await tab.close()
    }
  })
})
