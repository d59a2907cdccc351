// The console service's one poll (overview tick + metrics sampling) against a real HTTP server playing a slow, then
// failing management API: polls never overlap or pile up, back off while the broker fails, log a failure once, and
// the history is recorded with no one listening.
import { randomBytes } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { dispatchCommand, type CommandHandlers, type MetricsHistory, type Result } from '../../../main/contract'
import { ProfileStore } from '../../../main/console/profiles'
import { AesGcmSecretBox } from '../../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../../main/console/service'

interface Api {
  server: Server
  url: string
  delayMs: number
  status: number
  inFlight: number
  maxInFlight: number
  overviewRequests: number
}

async function startApi(): Promise<Api> {
  const api = { delayMs: 0, status: 200, inFlight: 0, maxInFlight: 0, overviewRequests: 0 } as Api
  api.server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/api/overview') api.overviewRequests++
    api.inFlight++
    api.maxInFlight = Math.max(api.maxInFlight, api.inFlight)
    setTimeout(() => {
      api.inFlight--
      if (api.status !== 200) {
        res.writeHead(api.status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'unavailable', reason: 'down for the test' }))
        return
      }
      const body =
        path === '/api/overview'
          ? { product_name: 'Test', object_totals: { queues: 1 }, queue_totals: { messages: 7, messages_ready: 5, messages_unacknowledged: 2 }, message_stats: { publish: 1, publish_details: { rate: 3.5 } } }
          : { items: [], page: 1, page_size: 20, filtered_count: 0, total_count: 0 }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
    }, api.delayMs)
  })
  await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve))
  api.url = `http://127.0.0.1:${(api.server.address() as AddressInfo).port}`
  return api
}

let service: ConsoleService | undefined
let api: Api | undefined
afterEach(async () => {
  await service?.close()
  service = undefined
  await new Promise((resolve) => api?.server.close(resolve))
  api = undefined
})

function setup(a: Api, tickMs: number) {
  const profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), { amqpUrl: 'amqp://127.0.0.1:1', managementUrl: a.url })
  const logs: string[] = []
  const events: string[] = []
  service = createConsoleService({ profiles, emit: (e) => events.push(e), tickMs, hasListeners: () => false, log: (_l, m) => logs.push(m) })
  const handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  return { logs, events, handlers }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describe('console service polling', () => {
  it('never overlaps polls when the broker answers slower than the interval, and records history with no listener', async () => {
    api = await startApi()
    api.delayMs = 200
    const { events, handlers } = setup(api, 20)
    service!.startTicks()
    await sleep(2500)
    expect(api.maxInFlight).toBeLessThanOrEqual(3) // one overview, or the sampler's three top lists after it
    // 20 ms ticks for 2.5 s would be 125 polls; one at a time through a 200 ms answer leaves at most 12
    expect(api.overviewRequests).toBeGreaterThanOrEqual(2)
    expect(api.overviewRequests).toBeLessThanOrEqual(12)
    expect(events).not.toContain('overview.tick') // nobody listens
    const h = (await dispatchCommand(handlers, 'metrics.history', { scope: 'overview', rangeMs: 60_000 })) as Result<MetricsHistory>
    expect(h.ok).toBe(true)
    if (h.ok) {
      expect(h.value.t.length).toBeGreaterThanOrEqual(1)
      expect(h.value.series.publish).toContain(3.5)
      expect(h.value.series.messages).toContain(7)
    }
  })

  it('backs off while the broker fails and logs the failure once', async () => {
    api = await startApi()
    api.status = 503
    const { logs } = setup(api, 25)
    service!.startTicks()
    await sleep(1500)
    // without backing off: ~60 polls; with one more interval per failure: about 10
    expect(api.overviewRequests).toBeGreaterThanOrEqual(3)
    expect(api.overviewRequests).toBeLessThanOrEqual(14)
    expect(logs.filter((m) => m.startsWith('overview tick failed'))).toHaveLength(1)
    // the broker comes back: polling resumes
    api.status = 200
    const before = api.overviewRequests
    await sleep(1500)
    expect(api.overviewRequests).toBeGreaterThan(before)
  })
})
