import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CommandHandlers } from '../../../main/contract'
import { createWebConsoleHandler, type WebConsole } from '../../../main/console/web-server'

let server: Server
let web: WebConsole
let base: string
let dir: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-web-'))
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Warren</title>')
  writeFileSync(join(tmpdir(), 'warren-outside.txt'), 'secret')
  const handlers = {
    'broker.status': () => ({ state: 'running', port: 5672 }),
    'queues.purge': () => {
      throw Object.assign(new Error('404 NOT_FOUND - no queue'), { code: 'NOT_FOUND', replyCode: 404 })
    },
  } as unknown as CommandHandlers
  web = createWebConsoleHandler({ handlers, staticDir: dir, maxBodyBytes: 1024 })
  // like the broker's HTTP server: our handler first, then a 404
  server = createServer(async (req, res) => {
    if (!(await web.handler(req, res))) {
      res.writeHead(404)
      res.end('broker 404')
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})

afterAll(async () => {
  web.close()
  await new Promise((r) => server.close(r))
  rmSync(dir, { recursive: true, force: true })
})

const post = (command: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${base}/console/api/${command}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

describe('web console HTTP handler', () => {
  it('answers commands with Results; errors are data with the reply code', async () => {
    expect(await (await post('broker.status', null)).json()).toEqual({ ok: true, value: { state: 'running', port: 5672 } })
    expect(await (await post('queues.purge', { vhost: '/', name: 'q' })).json()).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: '404 NOT_FOUND - no queue', replyCode: 404 } })
    expect(await (await post('nope', {})).json()).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } })
  })

  it('refuses cross-origin calls, other methods, other content types and large bodies', async () => {
    expect((await post('broker.status', null, { origin: 'http://evil.example' })).status).toBe(403)
    expect((await fetch(`${base}/console/api/broker.status`)).status).toBe(405)
    expect((await fetch(`${base}/console/api/broker.status`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415)
    expect((await post('broker.status', { pad: 'x'.repeat(2000) })).status).toBe(413)
  })

  it('streams events as server-sent events', async () => {
    const response = await fetch(`${base}/console/events`)
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const reader = response.body!.getReader()
    await new Promise((r) => setTimeout(r, 50))
    expect(web.clientCount()).toBe(1)
    web.emit('broker.statusChanged', { state: 'stopping' })
    let text = ''
    while (!text.includes('stopping')) text += new TextDecoder().decode((await reader.read()).value)
    expect(text).toContain('event: broker.statusChanged\ndata: {"state":"stopping"}\n\n')
    await reader.cancel()
  })

  it('serves the renderer, and nothing outside it; other paths go on to the broker', async () => {
    const index = await fetch(`${base}/`)
    expect(index.headers.get('content-type')).toContain('text/html')
    expect(await index.text()).toContain('<title>Warren</title>')
    expect((await fetch(`${base}/..%2fwarren-outside.txt`)).status).toBe(404)
    expect(await (await fetch(`${base}/api/overview`)).text()).toBe('broker 404')
  })
})
