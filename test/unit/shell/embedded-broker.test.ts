/**
 * EmbeddedBroker runs real child processes of this Node, with small stand-in host scripts that speak the host
 * protocol — no broker needed, so this tests process management alone.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { BrokerStatus } from '../../../main/contract'
import { createConsoleBackend, EmbeddedBroker, resolveNodePath } from '../../../main/console'

let dir: string
const scripts: Record<string, string> = {
  // behaves like broker-host.ts: reports ready with the port it was given, stops when stdin closes
  'good.mjs': `
    const args = process.argv.slice(2)
    const opt = (n) => { const i = args.indexOf('--' + n); return i >= 0 ? args[i + 1] : undefined }
    const port = Number(opt('port')) || 40000
    console.log('some unrelated output')
    console.log(JSON.stringify({ type: 'log', level: 'info', message: 'args ' + args.join(' ') }))
    console.log(JSON.stringify({ type: 'ready', host: opt('host'), port, dataDir: opt('data') ?? null, pid: process.pid }))
    process.stdin.on('end', () => { console.log(JSON.stringify({ type: 'closed' })); process.exit(0) })
    process.stdin.resume()
  `,
  'fatal.mjs': `
    console.log(JSON.stringify({ type: 'fatal', message: 'listen EADDRINUSE: address already in use' }))
    process.exit(1)
  `,
  'silent.mjs': `setInterval(() => {}, 1000)`,
  'crash-later.mjs': `
    console.log(JSON.stringify({ type: 'ready', host: '127.0.0.1', port: 1, dataDir: null, pid: process.pid }))
    setTimeout(() => { console.error('something broke'); process.exit(3) }, 100)
  `,
  // ignores stdin closing: only SIGKILL stops it
  'stubborn.mjs': `
    process.on('SIGTERM', () => {})
    console.log(JSON.stringify({ type: 'ready', host: '127.0.0.1', port: 2, dataDir: null, pid: process.pid }))
    setInterval(() => {}, 1000)
  `,
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-embedded-'))
  for (const [name, text] of Object.entries(scripts)) writeFileSync(join(dir, name), text)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const started: EmbeddedBroker[] = []
afterEach(async () => {
  await Promise.all(started.splice(0).map((b) => b.stop()))
})

function broker(script: string, extra: Partial<ConstructorParameters<typeof EmbeddedBroker>[0]> = {}): EmbeddedBroker {
  const b = new EmbeddedBroker({ nodePath: process.execPath, hostScript: join(dir, script), port: 45678, host: '127.0.0.1', ...extra })
  started.push(b)
  return b
}

describe('resolveNodePath', () => {
  it('prefers $WARREN_NODE, then the node that ran npm, then node on PATH', () => {
    expect(resolveNodePath({ WARREN_NODE: '/a/node', npm_node_execpath: '/b/node' })).toBe('/a/node')
    expect(resolveNodePath({ npm_node_execpath: '/b/node' })).toBe('/b/node')
    expect(resolveNodePath({})).toBe('node')
  })
})

describe('EmbeddedBroker', () => {
  it('starts the host, reports running with the URL, uptime and data dir, then stops it gracefully', async () => {
    let now = 1_000
    const seen: BrokerStatus[] = []
    const logs: string[] = []
    const b = broker('good.mjs', { dataDir: '/var/warren', heartbeat: 10, now: () => now, onLog: (_l, m) => logs.push(m) })
    b.onStatusChange((s) => seen.push(s))
    expect(b.status()).toEqual({ state: 'stopped' })

    const status = await b.start()
    expect(status).toMatchObject({ state: 'running', amqpUrl: 'amqp://127.0.0.1:45678', port: 45678, host: '127.0.0.1', dataDir: '/var/warren', uptimeMs: 0 })
    expect(status.pid).toBeGreaterThan(0)
    expect(logs).toContain('args --port 45678 --host 127.0.0.1 --data /var/warren --heartbeat 10')
    now += 5_000
    expect(b.status().uptimeMs).toBe(5_000)

    await b.stop()
    expect(b.status()).toEqual({ state: 'stopped', dataDir: '/var/warren' })
    expect(seen.map((s) => s.state)).toEqual(['starting', 'running', 'stopping', 'stopped'])
  })

  it('start() while starting returns the same promise; start() while running returns the status', async () => {
    const b = broker('good.mjs')
    const p1 = b.start()
    const p2 = b.start()
    expect(p1).toBe(p2)
    await p1
    expect((await b.start()).state).toBe('running')
  })

  it('reports a host that fails to start, with its reason', async () => {
    const status = await broker('fatal.mjs').start()
    expect(status).toEqual({ state: 'failed', error: { code: 'BROKER_FAILED', message: 'listen EADDRINUSE: address already in use' } })
  })

  it('reports a missing node executable', async () => {
    const status = await broker('good.mjs', { nodePath: join(dir, 'no-such-node') }).start()
    expect(status.state).toBe('failed')
    expect(status.error?.code).toBe('NODE_NOT_FOUND')
  })

  it('gives up on a host that never reports ready', async () => {
    const status = await broker('silent.mjs', { startTimeoutMs: 300 }).start()
    expect(status).toMatchObject({ state: 'failed', error: { code: 'BROKER_START_TIMEOUT' } })
  })

  it('reports an unexpected exit after start, with the end of stderr', async () => {
    const b = broker('crash-later.mjs')
    await b.start()
    const failed = await new Promise<BrokerStatus>((resolve) => b.onStatusChange((s) => s.state === 'failed' && resolve(s)))
    expect(failed.error?.code).toBe('BROKER_EXITED')
    expect(failed.error?.message).toContain('code 3')
    expect(failed.error?.message).toContain('something broke')
  })

  it('kills a host that does not stop in time', async () => {
    const b = broker('stubborn.mjs', { stopTimeoutMs: 300 })
    await b.start()
    const t0 = Date.now()
    await b.stop()
    expect(Date.now() - t0).toBeLessThan(5_000)
    // killed, not a clean stop
    expect(b.status()).toMatchObject({ state: 'failed', error: { code: 'BROKER_KILLED' } })
  })

  it('stop() without a host is a no-op', async () => {
    const b = broker('good.mjs')
    await b.stop()
    expect(b.status().state).toBe('stopped')
  })
})

describe('createConsoleBackend', () => {
  it('serves broker.status and pushes broker.statusChanged events', async () => {
    const events: Array<[string, BrokerStatus]> = []
    const userDataDir = join(dir, 'userData')
    const backend = createConsoleBackend({
      userDataDir,
      hostScript: join(dir, 'good.mjs'),
      env: { WARREN_NODE: process.execPath, WARREN_AMQP_PORT: '45999' },
      emit: (event, payload) => {
        if (event === 'broker.statusChanged') events.push([event, payload as BrokerStatus])
      },
    })
    started.push(backend.broker)
    expect(await backend.handlers['broker.status']()).toEqual({ state: 'stopped' })
    const status = await backend.start()
    expect(status).toMatchObject({ state: 'running', amqpUrl: 'amqp://127.0.0.1:45999', dataDir: join(userDataDir, 'broker') })
    expect(await backend.handlers['broker.status']()).toMatchObject({ state: 'running', port: 45999 })
    await backend.stop()
    expect(events.map(([name, s]) => `${name}:${s.state}`)).toEqual([
      'broker.statusChanged:starting',
      'broker.statusChanged:running',
      'broker.statusChanged:stopping',
      'broker.statusChanged:stopped',
    ])
  })
})
