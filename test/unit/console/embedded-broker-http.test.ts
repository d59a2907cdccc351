/**
 * What the web console needs of EmbeddedBroker beyond the desktop app: the broker's HTTP API on its own address
 * (--bind, reported back as httpHost), how to run the host from source or from a build, and the shared free-port
 * search. Stand-in host scripts (real child processes) speak the host protocol; no broker needed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { brokerHostBeside, EmbeddedBroker, findFreePort } from '../../../main/console/embedded-broker'
import { parseHostMessage } from '../../../main/console/host-protocol'

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-embedded-http-'))
  // reports the HTTP address it was asked for, as broker-host.ts does
  writeFileSync(
    join(dir, 'http.mjs'),
    `const args = process.argv.slice(2)
     const opt = (n) => { const i = args.indexOf('--' + n); return i >= 0 ? args[i + 1] : undefined }
     console.log(JSON.stringify({ type: 'ready', host: opt('host'), port: 5999, dataDir: null, pid: process.pid, httpPort: Number(opt('http-port')) || 15999, ...(opt('bind') ? { httpHost: opt('bind') } : {}) }))
     process.stdin.on('end', () => process.exit(0))
     process.stdin.resume()`,
  )
  writeFileSync(join(dir, 'broker-host.js'), '')
  writeFileSync(join(dir, 'web-console.js'), '')
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('EmbeddedBroker with a separate HTTP address', () => {
  it('passes --bind and reports the HTTP API on that address, AMQP on its own', async () => {
    const b = new EmbeddedBroker({ nodePath: process.execPath, hostScript: join(dir, 'http.mjs'), port: 0, host: '0.0.0.0', httpPort: 0, httpHost: '127.0.0.2' })
    try {
      const s = await b.start()
      expect(s).toMatchObject({ state: 'running', host: '0.0.0.0', amqpUrl: 'amqp://127.0.0.1:5999', httpUrl: 'http://127.0.0.2:15999' })
    } finally {
      await b.stop()
    }
  })

  it('without an HTTP address reaches a wildcard HTTP bind through loopback', async () => {
    const b = new EmbeddedBroker({ nodePath: process.execPath, hostScript: join(dir, 'http.mjs'), port: 0, host: '0.0.0.0', httpPort: 16001 })
    try {
      expect((await b.start()).httpUrl).toBe('http://127.0.0.1:16001')
    } finally {
      await b.stop()
    }
  })

  it('reads httpHost from the ready message and ignores a malformed one', () => {
    expect(parseHostMessage('{"type":"ready","host":"0.0.0.0","port":1,"dataDir":null,"pid":2,"httpPort":3,"httpHost":"127.0.0.1"}')).toMatchObject({ httpHost: '127.0.0.1' })
    expect(parseHostMessage('{"type":"ready","host":"0.0.0.0","port":1,"dataDir":null,"pid":2,"httpPort":3,"httpHost":7}')).not.toHaveProperty('httpHost')
  })
})

describe('brokerHostBeside', () => {
  it('runs the built host next to a built module, and the TypeScript source through an absolute tsx loader otherwise', () => {
    expect(brokerHostBeside(join(dir, 'web-console.js'))).toEqual({ hostScript: join(dir, 'broker-host.js'), nodeArgs: [] })
    const fromSource = brokerHostBeside(join(import.meta.dirname, '../../../main/console/web-console.ts'))
    expect(fromSource.hostScript).toMatch(/main\/console\/broker-host\.ts$/)
    expect(fromSource.nodeArgs[0]).toBe('--import')
    expect(fromSource.nodeArgs[1]).toMatch(/^file:\/\/\/.*node_modules\/tsx\//)
  })
})

describe('findFreePort', () => {
  it('skips a port that is taken', async () => {
    const taken = createServer()
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
    const port = (taken.address() as { port: number }).port
    try {
      const free = await findFreePort(port, '127.0.0.1', 5)
      expect(free).toBeGreaterThan(port)
    } finally {
      await new Promise((r) => taken.close(r))
    }
  })
})
