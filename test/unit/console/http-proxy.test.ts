/**
 * The web console's reverse proxy to the broker's HTTP API (main/console/http-proxy.ts), between two real HTTP
 * servers on loopback: an upstream that echoes what it got, and the proxy in front of it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpProxy, type ProxyTarget } from '../../../main/console/http-proxy'

let upstream: Server
let front: Server
let base: string
let target: ProxyTarget | undefined
let aborted = 0
const proxy = createHttpProxy({ target: () => target, unavailableReason: () => 'failed: broker host exited with signal SIGKILL' })

function listen(server: Server): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as AddressInfo).port)))
}

beforeAll(async () => {
  upstream = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x')
    if (url.pathname === '/api/echo') {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        res.writeHead(201, 'Created Here', { 'content-type': 'application/json', 'x-upstream': 'yes', 'set-cookie': ['a=1', 'b=2'], connection: 'keep-alive' })
        res.end(JSON.stringify({ method: req.method, url: req.url, length: body.length, sum: body.reduce((a, b) => (a + b) % 65536, 0), auth: req.headers.authorization ?? null, hop: req.headers['proxy-authorization'] ?? null, host: req.headers.host, origin: req.headers.origin ?? null }))
      })
      return
    }
    if (url.pathname === '/api/stream') {
      // chunked, written over time: the proxy must pass each piece on as it comes
      res.writeHead(200, { 'content-type': 'text/plain' })
      let n = 0
      const timer = setInterval(() => {
        res.write(`piece ${n}\n`)
        if (++n === 5) {
          clearInterval(timer)
          res.end()
        }
      }, 20)
      return
    }
    if (url.pathname === '/api/slow') {
      res.on('close', () => {
        if (!res.writableFinished) aborted++
      })
      setTimeout(() => res.end('late'), 3000)
      return
    }
    res.writeHead(404, { 'content-type': 'application/json' })
    res.end(JSON.stringify({ error: 'Object Not Found', reason: 'Not Found' }))
  })
  const upstreamPort = await listen(upstream)
  target = { host: '127.0.0.1', port: upstreamPort }
  front = createServer((req, res) => proxy.handle(req, res))
  base = `http://127.0.0.1:${await listen(front)}`
})

afterAll(async () => {
  proxy.close()
  front.closeAllConnections()
  upstream.closeAllConnections()
  await new Promise((r) => front.close(r))
  await new Promise((r) => upstream.close(r))
})

describe('http proxy to the broker', () => {
  it('passes method, path with query, headers and a large body through, and the status, reason and headers back', async () => {
    const body = Buffer.alloc(3 * 1024 * 1024, 7)
    const res = await fetch(`${base}/api/echo?x=%2F&y=1`, { method: 'PUT', headers: { authorization: 'Basic abc', 'proxy-authorization': 'Basic proxy-only' }, body })
    expect(res.status).toBe(201)
    expect(res.statusText).toBe('Created Here')
    expect(res.headers.get('x-upstream')).toBe('yes')
    expect(res.headers.getSetCookie()).toEqual(['a=1', 'b=2'])
    const echoed = (await res.json()) as Record<string, unknown>
    expect(echoed).toEqual({ method: 'PUT', url: '/api/echo?x=%2F&y=1', length: body.length, sum: body.reduce((a, b) => (a + b) % 65536, 0), auth: 'Basic abc', hop: null, host: new URL(base).host, origin: null })
  })

  it('keeps the upstream error status and body', async () => {
    const res = await fetch(`${base}/api/queues/%2F/missing`)
    expect(res.status).toBe(404)
    expect(await res.json()).toEqual({ error: 'Object Not Found', reason: 'Not Found' })
  })

  it('streams a chunked answer piece by piece', async () => {
    const res = await fetch(`${base}/api/stream`)
    const reader = res.body!.getReader()
    const first = await reader.read()
    // the first piece arrives before the upstream has finished writing (5 pieces, 20 ms apart)
    expect(new TextDecoder().decode(first.value)).toMatch(/^piece 0/)
    let text = new TextDecoder().decode(first.value)
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    expect(text).toBe('piece 0\npiece 1\npiece 2\npiece 3\npiece 4\n')
  })

  it('stops the upstream request when the client goes away', async () => {
    const before = aborted
    await expect(fetch(`${base}/api/slow`, { signal: AbortSignal.timeout(200) })).rejects.toThrow()
    await expect.poll(() => aborted, { timeout: 2000 }).toBe(before + 1)
  })

  it('forwards another Host when asked (a console bound beyond loopback), rewriting only a same-origin Origin', async () => {
    const renaming = createHttpProxy({ target: () => target, forwardHost: () => '127.0.0.1:15672' })
    const server = createServer((req, res) => renaming.handle(req, res))
    const port = await listen(server)
    const { request } = await import('node:http')
    // fetch will not send a made-up Host: node:http does
    const send = (headers: Record<string, string>) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const r = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/echo', headers }, (res) => {
          let text = ''
          res.on('data', (d: Buffer) => (text += d.toString()))
          res.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>))
        })
        r.on('error', reject)
        r.end('{}')
      })
    try {
      expect(await send({ host: 'broker.example:15672', origin: 'http://broker.example:15672' })).toMatchObject({ host: '127.0.0.1:15672', origin: 'http://127.0.0.1:15672' })
      expect(await send({ host: 'broker.example:15672', origin: 'http://evil.example' })).toMatchObject({ host: '127.0.0.1:15672', origin: 'http://evil.example' })
      expect(await send({ host: 'broker.example:15672' })).toMatchObject({ host: '127.0.0.1:15672', origin: null })
    } finally {
      renaming.close()
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
    }
  })

  it('answers 503 with the reason while there is no broker, and 502 when the broker does not answer', async () => {
    const saved = target
    try {
      target = undefined
      const res = await fetch(`${base}/api/overview`)
      expect(res.status).toBe(503)
      expect(await res.json()).toEqual({ error: 'service_unavailable', reason: 'the broker is not running: failed: broker host exited with signal SIGKILL' })

      // a port nothing listens on
      const closed = createServer()
      const port = await listen(closed)
      await new Promise((r) => closed.close(r))
      target = { host: '127.0.0.1', port }
      const gone = await fetch(`${base}/api/overview`)
      expect(gone.status).toBe(502)
      expect(((await gone.json()) as { reason: string }).reason).toMatch(/ECONNREFUSED/)
    } finally {
      target = saved
    }
  })
})
