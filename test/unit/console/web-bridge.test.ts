import { describe, expect, it } from 'vitest'
import { createWebBridge } from '../../../renderer/src/web-bridge'

class FakeEventSource {
  static last: FakeEventSource | undefined
  listeners = new Map<string, ((e: { data: string }) => void)[]>()
  constructor(readonly url: string) {
    FakeEventSource.last = this
  }
  addEventListener(name: string, l: (e: { data: string }) => void): void {
    this.listeners.set(name, [...(this.listeners.get(name) ?? []), l])
  }
  fire(name: string, data: unknown): void {
    for (const l of this.listeners.get(name) ?? []) l({ data: JSON.stringify(data) })
  }
}

describe('web bridge (the renderer side of the web console)', () => {
  it('POSTs commands as JSON and passes the Result through', async () => {
    const seen: [string, RequestInit][] = []
    const bridge = createWebBridge({
      base: 'http://h',
      fetch: (async (url: string, init: RequestInit) => {
        seen.push([url, init])
        return new Response(JSON.stringify({ ok: true, value: { state: 'running' } }))
      }) as unknown as typeof fetch,
      EventSource: FakeEventSource as unknown as typeof EventSource,
    })
    expect(await bridge.invoke('queues.purge', { vhost: '/', name: 'q' })).toEqual({ ok: true, value: { state: 'running' } })
    expect(seen[0]![0]).toBe('http://h/console/api/queues.purge')
    expect(seen[0]![1]).toMatchObject({ method: 'POST', body: '{"vhost":"/","name":"q"}' })
  })

  it('turns transport failures and non-Result answers into error Results', async () => {
    const down = createWebBridge({ fetch: (async () => Promise.reject(new Error('ECONNREFUSED'))) as unknown as typeof fetch })
    expect(await down.invoke('broker.status', undefined)).toMatchObject({ ok: false, error: { code: 'HTTP_FAILED' } })
    const html = createWebBridge({ fetch: (async () => new Response('<html>', { status: 502, statusText: 'Bad Gateway' })) as unknown as typeof fetch })
    expect(await html.invoke('broker.status', undefined)).toMatchObject({ ok: false, error: { code: 'HTTP_FAILED', message: expect.stringContaining('502') } })
    expect(await html.invoke('nope' as 'broker.status', undefined)).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } })
  })

  it('delivers events from one EventSource and unsubscribes', () => {
    const bridge = createWebBridge({ base: 'http://h', EventSource: FakeEventSource as unknown as typeof EventSource })
    const got: unknown[] = []
    const off = bridge.on('overview.tick', (t) => got.push(t.profileId))
    bridge.on('profiles.changed', () => {})
    expect(FakeEventSource.last!.url).toBe('http://h/console/events')
    FakeEventSource.last!.fire('overview.tick', { profileId: 'embedded' })
    off()
    FakeEventSource.last!.fire('overview.tick', { profileId: 'again' })
    expect(got).toEqual(['embedded'])
    expect(() => bridge.on('nope' as 'overview.tick', () => {})).toThrow(/unknown event/)
  })
})
