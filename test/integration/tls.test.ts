// AMQP over TLS (amqps) and HTTPS for the management API, with certificate files made at test time by openssl: a
// throw-away CA, a server certificate for localhost/127.0.0.1 signed by it, a client certificate, and a second CA
// nobody trusts. Real clients: amqplib over amqps, node:https, and the headless CLI given the files.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs'
import { request } from 'node:https'
import { connect as netConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import amqp from 'amqplib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { readTlsFiles } from '../../broker/tls'
import { waitFor } from '../helpers/broker'

const ROOT = resolve(import.meta.dirname, '../..')
let dir: string
const file = (name: string) => join(dir, name)
const pem = (name: string) => readFileSync(file(name))

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** A CA (name.key, name.crt). */
function makeCa(name: string): void {
  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
}

/** A certificate (name.key, name.crt) signed by a CA, for the given subjectAltName and use. */
function makeCert(name: string, ca: string, san: string, usage: 'serverAuth' | 'clientAuth'): void {
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`)
  writeFileSync(file(`${name}.ext`), `subjectAltName=${san}\nextendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`)
  openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`)
}

let broker: BrokerHandle
const logLines: string[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'warren-tls-'))
  makeCa('ca')
  makeCa('other-ca')
  makeCert('server', 'ca', 'DNS:localhost,IP:127.0.0.1', 'serverAuth')
  makeCert('client', 'ca', 'DNS:client', 'clientAuth')
  makeCert('stranger', 'other-ca', 'DNS:stranger', 'clientAuth')
  broker = await startBroker({
    port: 0,
    host: '127.0.0.1',
    tls: readTlsFiles({ certFile: file('server.crt'), keyFile: file('server.key'), caFile: file('ca.crt') }),
    tlsPort: 0,
    httpPort: 0,
    https: true,
    logger: { info: () => {}, warn: (m) => void logLines.push(m), error: (m) => void logLines.push(m) },
  })
}, 60_000)
afterAll(async () => {
  await broker?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** amqplib over amqps to 127.0.0.1, checking the certificate against the name localhost and trusting our CA. */
function amqps(port: number, options: Record<string, unknown> = {}) {
  return amqp.connect(`amqps://guest:guest@127.0.0.1:${port}`, { ca: [pem('ca.crt')], servername: 'localhost', ...options })
}

function httpsGet(port: number, path: string, ca: Buffer): Promise<{ status: number; body: unknown }> {
  return new Promise((resolvePromise, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => (text += d))
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('AMQP over TLS (amqps)', () => {
  it('amqplib connects over amqps trusting the CA, and messages flow as over TCP', async () => {
    expect(broker.tlsPort).toBeGreaterThan(0)
    expect(broker.tlsPort).not.toBe(broker.port)
    const conn = await amqps(broker.tlsPort!)
    try {
      const ch = await conn.createChannel()
      const { queue } = await ch.assertQueue('', { exclusive: true })
      ch.sendToQueue(queue, Buffer.from('over tls'))
      const message = await waitFor(async () => (await ch.get(queue, { noAck: true })) || undefined, 3_000)
      expect(message!.content.toString()).toBe('over tls')
      // the management API sees it as a connection like any other
      const connections = (await httpsGet(broker.httpPort!, '/api/connections', pem('ca.crt'))).body as { user: string; ssl: boolean; ssl_protocol: string | null; port: number }[]
      const tls = connections.find((c) => c.port === broker.tlsPort)
      expect(tls).toMatchObject({ user: 'guest', ssl: true })
      expect(tls!.ssl_protocol).toMatch(/^tlsv1\.[23]$/)
    } finally {
      await conn.close()
    }
  })

  it('a client trusting another CA refuses the server (no credentials are sent)', async () => {
    await expect(amqps(broker.tlsPort!, { ca: [pem('other-ca.crt')] })).rejects.toThrow(/certificate/)
  })

  it('a client checking the name refuses a certificate for another host', async () => {
    // the certificate names localhost and 127.0.0.1, not other.example
    await expect(amqps(broker.tlsPort!, { servername: 'other.example' })).rejects.toThrow(/does not match certificate's altnames/)
  })

  it('plain AMQP on the TLS port fails cleanly: the socket is closed, the broker logs it and keeps serving', async () => {
    const from = logLines.length
    await expect(amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.tlsPort}`)).rejects.toThrow()
    const socket = netConnect({ host: '127.0.0.1', port: broker.tlsPort! })
    socket.on('error', () => {})
    socket.write(Buffer.from('AMQP\x00\x00\x09\x01'))
    await new Promise<void>((r) => socket.once('close', () => r()))
    await waitFor(() => logLines.slice(from).some((l) => l.startsWith('TLS handshake with 127.0.0.1:')), 3_000)
    const conn = await amqps(broker.tlsPort!)
    await conn.close()
    // and plain AMQP still works on its own port
    const plain = await amqp.connect(`amqp://guest:guest@127.0.0.1:${broker.port}`)
    await plain.close()
  })
})

describe('HTTPS for the management API', () => {
  it('answers over HTTPS with the certificate; the overview lists the https listener', async () => {
    const response = await httpsGet(broker.httpPort!, '/api/overview', pem('ca.crt'))
    expect(response.status).toBe(200)
    const listeners = (response.body as { listeners: { protocol: string; port: number }[] }).listeners
    expect(listeners).toContainEqual(expect.objectContaining({ protocol: 'https', port: broker.httpPort }))
  })

  it('a client trusting another CA refuses it; plain HTTP on the HTTPS port gets no API answer', async () => {
    await expect(httpsGet(broker.httpPort!, '/api/overview', pem('other-ca.crt'))).rejects.toThrow(/certificate/)
    const plain = await fetch(`http://127.0.0.1:${broker.httpPort}/api/overview`).then(
      (r) => r.status,
      () => 'refused',
    )
    expect(plain === 'refused' || plain === 400).toBe(true)
  })
})

describe('client certificates (verifyPeer, --tls-verify-peer)', () => {
  it('a client with a certificate from the CA connects; without one, or with a stranger\'s, it is refused', async () => {
    const strict = await startBroker({
      port: 0,
      host: '127.0.0.1',
      tls: readTlsFiles({ certFile: file('server.crt'), keyFile: file('server.key'), caFile: file('ca.crt'), verifyPeer: true }),
      tlsPort: 0,
      httpPort: 0,
    })
    try {
      const port = strict.tlsPort!
      const conn = await amqps(port, { cert: pem('client.crt'), key: pem('client.key') })
      // the management API shows whose certificate it was
      const listed = (await (await fetch(`http://127.0.0.1:${strict.httpPort}/api/connections`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })).json()) as Record<string, unknown>[]
      expect(listed).toHaveLength(1)
      expect(listed[0]).toMatchObject({ ssl: true, peer_cert_subject: 'CN=client', peer_cert_issuer: 'CN=ca' })
      await conn.close()
      await expect(amqps(port)).rejects.toThrow()
      await expect(amqps(port, { cert: pem('stranger.crt'), key: pem('stranger.key') })).rejects.toThrow()
    } finally {
      await strict.close()
    }
  })
})

describe('the headless CLI with --tls-cert/--tls-key/--tls-ca/--tls-port/--https', () => {
  let child: ChildProcess | undefined
  afterAll(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })

  it('prints the amqps and https URLs and serves both', async () => {
    child = spawn(
      process.execPath,
      ['--import', 'tsx', 'broker/cli.ts', '--port', '0', '--host', '127.0.0.1', '--tls-cert', file('server.crt'), '--tls-key', file('server.key'), '--tls-ca', file('ca.crt'), '--tls-port', '0', '--http-port', '0', '--https'],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } },
    )
    let out = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
    const exited = new Promise((r) => child!.once('exit', r))
    const urls = await waitFor(() => {
      const amqps = /AMQP over TLS on amqps:\/\/127\.0\.0\.1:(\d+)/.exec(out)
      const https = /Management HTTP API on https:\/\/127\.0\.0\.1:(\d+)\/api\//.exec(out)
      return amqps && https ? { amqps: Number(amqps[1]), https: Number(https[1]) } : undefined
    }, 20_000).catch(() => {
      throw new Error(`the CLI did not print its URLs:\n${out}`)
    })
    const conn = await amqps(urls!.amqps)
    await conn.close()
    expect((await httpsGet(urls!.https, '/api/whoami', pem('ca.crt'))).body).toEqual({ name: 'guest', tags: ['administrator'] })
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
  })

  it('a missing certificate file exits 1 naming the option and the file; --tls-cert without --tls-key exits 2', async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; err: string }>((r) => {
        const c = spawn(process.execPath, ['--import', 'tsx', 'broker/cli.ts', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
        let err = ''
        c.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
        c.once('exit', (code) => r({ code, err }))
      })
    const missing = await run(['--tls-cert', file('nope.crt'), '--tls-key', file('server.key'), '--tls-port', '0'])
    expect(missing.code).toBe(1)
    expect(missing.err).toContain(`cannot read --tls-cert ${file('nope.crt')}`)
    const half = await run(['--tls-cert', file('server.crt')])
    expect(half.code).toBe(2)
    expect(half.err).toContain('--tls-cert needs --tls-key')
  })
})
