/**
 * The desktop app's broker host keeps the management HTTP API on loopback even when AMQP listens on every interface
 * (WARREN_AMQP_HOST=0.0.0.0): exposing the API takes an explicit --bind.
 */
import { networkInterfaces } from 'node:os'
import { join, resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { EmbeddedBroker } from '../../../main/console'

const ROOT = resolve(import.meta.dirname, '../../..')
const brokers: EmbeddedBroker[] = []
afterEach(async () => {
  await Promise.all(brokers.splice(0).map((b) => b.stop()))
})

const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address

describe('broker host HTTP API address', () => {
  it('AMQP on 0.0.0.0 leaves the HTTP API on 127.0.0.1', async () => {
    const b = new EmbeddedBroker({
      nodePath: process.execPath,
      nodeArgs: ['--import', 'tsx'],
      hostScript: join(ROOT, 'main/console/broker-host.ts'),
      port: 0,
      host: '0.0.0.0',
      startTimeoutMs: 20_000,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    })
    brokers.push(b)
    b.setHttpPort(0)
    const status = await b.start()
    expect(status.state).toBe('running')
    expect(status.httpUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const port = new URL(status.httpUrl!).port
    const auth = { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') }
    expect((await fetch(`${status.httpUrl}/api/whoami`, { headers: auth })).status).toBe(200)
    if (externalAddress) await expect(fetch(`http://${externalAddress}:${port}/api/whoami`, { headers: auth })).rejects.toThrow()
  })
})
