/**
 * The desktop app's broker host (main/console/broker-host.ts) with the real broker, driven by EmbeddedBroker the
 * way the app drives it — run from TypeScript through tsx instead of from out/main/, and with no Electron.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import amqp from 'amqplib'
import { afterEach, describe, expect, it } from 'vitest'
import { EmbeddedBroker } from '../../../main/console'

const ROOT = resolve(import.meta.dirname, '../../..')
const HOST = join(ROOT, 'main/console/broker-host.ts')
const dirs: string[] = []
const brokers: EmbeddedBroker[] = []

afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.stop()))
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function embedded(dataDir?: string): EmbeddedBroker {
  const b = new EmbeddedBroker({
    nodePath: process.execPath,
    nodeArgs: ['--import', 'tsx'],
    hostScript: HOST,
    port: 0,
    host: '127.0.0.1',
    dataDir,
    startTimeoutMs: 20_000,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  })
  brokers.push(b)
  return b
}

describe('broker host process', () => {
  it('runs the broker, serves AMQP clients, and on stop closes them with 320 and keeps durable state', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'warren-host-'))
    dirs.push(dataDir)
    const b = embedded(dataDir)
    const status = await b.start()
    expect(status).toMatchObject({ state: 'running', host: '127.0.0.1', dataDir })
    expect(status.port).toBeGreaterThan(0)
    expect(status.amqpUrl).toBe(`amqp://127.0.0.1:${status.port}`)

    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${status.port}`)
    conn.on('error', () => {})
    const closed = new Promise<unknown>((res) => conn.on('close', res))
    const ch = await conn.createConfirmChannel()
    await ch.assertQueue('host-test', { durable: true })
    ch.sendToQueue('host-test', Buffer.from('kept'), { persistent: true })
    await ch.waitForConfirms()

    await b.stop()
    expect(((await closed) as { code?: number }).code).toBe(320)
    expect(b.status().state).toBe('stopped')

    // same data dir, new process: the durable queue and its persistent message are still there
    const again = embedded(dataDir)
    const second = await again.start()
    expect(second.state).toBe('running')
    const conn2 = await amqp.connect(`amqp://guest:guest@127.0.0.1:${second.port}`)
    conn2.on('error', () => {})
    const ch2 = await conn2.createChannel()
    const msg = await ch2.get('host-test', { noAck: true })
    expect(msg && msg.content.toString()).toBe('kept')
    await conn2.close()
  })

  it('reports a port that is taken as a failure with the reason', async () => {
    const first = embedded()
    const { port } = await first.start()
    const clash = new EmbeddedBroker({
      nodePath: process.execPath,
      nodeArgs: ['--import', 'tsx'],
      hostScript: HOST,
      port: port!,
      host: '127.0.0.1',
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    })
    brokers.push(clash)
    const status = await clash.start()
    expect(status.state).toBe('failed')
    expect(status.error?.message).toMatch(/EADDRINUSE|in use/i)
  })
})

describe('broker host with the management HTTP API (what the desktop console talks to)', () => {
  it('starts the HTTP API on the port it is given and reports its URL', async () => {
    const b = embedded()
    b.setHttpPort(0)
    const status = await b.start()
    expect(status.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const overview = await fetch(`${status.httpUrl}/api/overview`, { headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') } })
    expect(overview.status).toBe(200)
    expect(((await overview.json()) as { product_name?: string }).product_name).toBe('Warren')
  })
})
