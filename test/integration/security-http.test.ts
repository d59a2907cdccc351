// The management HTTP API against cross-site requests (CSRF, cross-site reads, DNS rebinding) and its loopback-only
// default. Requests are made with the headers a browser sends (Origin, Sec-Fetch-Site, Host); non-browser clients send
// none of them and keep working. Each refused change is checked not to have happened.
import { networkInterfaces } from 'node:os'
import { request } from 'node:http'
import { describe, expect, it } from 'vitest'
import { startBroker } from '../../broker/index'
import { crossSiteCheck, isAcceptableHost } from '../../broker/http/csrf'
import { uniq } from '../helpers/broker'
import { useHttpBroker } from '../helpers/http'

const ctx = useHttpBroker()
const api = () => ctx.b
const own = () => `127.0.0.1:${api().handle.httpPort}`

const externalAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address

/** A request with a Host header of our choosing (fetch does not let us set Host). */
function rawRequest(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}`, ...headers } }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (d: string) => (text += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: text === '' ? undefined : JSON.parse(text) }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('cross-site requests are refused with 403 and change nothing', () => {
  it('a PUT/POST/DELETE with a foreign Origin (what a page on another site sends)', async () => {
    const queue = uniq('csrf')
    const evil = { origin: 'http://evil.example' }
    const put = await api().call('PUT', `/api/queues/%2F/${queue}`, { body: {}, headers: evil })
    expect(put.status).toBe(403)
    expect(put.body).toEqual({ error: 'forbidden', reason: 'cross-site request refused (Origin http://evil.example is not this server)' })
    expect((await api().get(`/api/queues/%2F/${queue}`)).status).toBe(404)

    expect((await api().call('PUT', `/api/queues/%2F/${queue}`, { body: {} })).status).toBe(201)
    const publish = await api().call('POST', '/api/exchanges/%2F/amq.default/publish', { headers: evil, body: { routing_key: queue, payload: 'x', payload_encoding: 'string', properties: {} } })
    expect(publish.status).toBe(403)
    expect((await api().call('DELETE', `/api/queues/%2F/${queue}`, { headers: evil })).status).toBe(403)
    expect((await api().call('PUT', '/api/users/mallory', { headers: evil, body: { password: 'x', tags: 'administrator' } })).status).toBe(403)
    expect((await api().get('/api/users/mallory')).status).toBe(404)
    const after = await api().get(`/api/queues/%2F/${queue}`)
    expect(after.status).toBe(200)
    expect(after.body.messages).toBe(0)
  })

  it('another port of the same host is another origin too', async () => {
    const other = `http://127.0.0.1:${api().handle.httpPort! + 1}`
    expect((await api().call('PUT', `/api/exchanges/%2F/${uniq('x')}`, { body: { type: 'direct' }, headers: { origin: other } })).status).toBe(403)
  })

  it('cross-site reads with credentials are refused as well (Sec-Fetch-Site cross-site / same-site, Origin null)', async () => {
    const cases: Record<string, string>[] = [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'null' }, { origin: 'http://evil.example' }]
    for (const headers of cases) {
      const response = await api().call('GET', '/api/definitions', { headers })
      expect(response.status, JSON.stringify(headers)).toBe(403)
      expect(response.body.error).toBe('forbidden')
      expect(response.text).not.toContain('password_hash')
    }
  })

  it('answers carry no CORS permission and forbid content sniffing', async () => {
    for (const response of [await api().call('GET', '/api/overview'), await api().call('GET', '/api/overview', { headers: { origin: 'http://evil.example' } })]) {
      expect(response.headers.get('access-control-allow-origin')).toBeNull()
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
    }
  })

  it('refused before authentication: no credentials are checked and no login is attempted', async () => {
    const response = await api().call('GET', '/api/overview', { auth: false, headers: { 'sec-fetch-site': 'cross-site' } })
    expect(response.status).toBe(403)
    expect(response.headers.get('www-authenticate')).toBeNull()
  })

  it('DNS rebinding: a request for another host name on the loopback-only API is refused; localhost and IP literals are not', async () => {
    const port = api().handle.httpPort!
    const browser = { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/120', 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'cors' }
    const rebound = await rawRequest(port, 'GET', '/api/overview', { host: `evil.example:${port}`, ...browser })
    expect(rebound.status).toBe(403)
    expect(rebound.json).toEqual({ error: 'forbidden', reason: "request for host 'evil.example' refused: this API answers on loopback only (DNS rebinding?)" })
    // the page's own origin matches its Host, so only the host name tells
    expect((await rawRequest(port, 'PUT', `/api/queues/%2F/${uniq('rebind')}`, { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'content-type': 'application/json' }, '{}')).status).toBe(403)
    // an older browser without fetch metadata is still known by its user agent
    expect((await rawRequest(port, 'GET', '/api/overview', { host: `evil.example:${port}`, 'user-agent': 'Mozilla/5.0 (Windows NT 10.0)' })).status).toBe(403)
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `app.localhost:${port}`]) {
      expect((await rawRequest(port, 'GET', '/api/whoami', { host, ...browser })).status, host).toBe(200)
    }
    // not a browser (rabbitmqadmin, curl), e.g. through a proxy that keeps its own host name: no rebinding to fear
    expect((await rawRequest(port, 'GET', '/api/whoami', { host: `broker.example:${port}`, 'user-agent': 'curl/7.88.1' })).status).toBe(200)
  })
})

describe('same-origin and non-browser clients keep working', () => {
  it('no Origin and no Sec-Fetch-* (curl, rabbitmqadmin, the console backend)', async () => {
    const queue = uniq('plain')
    expect((await api().call('PUT', `/api/queues/%2F/${queue}`, { body: {} })).status).toBe(201)
    expect((await api().call('DELETE', `/api/queues/%2F/${queue}`)).status).toBe(204)
  })

  it('a page served from the API\'s own origin (the web console): Origin = Host, Sec-Fetch-Site same-origin', async () => {
    const queue = uniq('same')
    const headers = { origin: `http://${own()}`, 'sec-fetch-site': 'same-origin' }
    expect((await api().call('PUT', `/api/queues/%2F/${queue}`, { body: {}, headers })).status).toBe(201)
    expect((await api().call('GET', `/api/queues/%2F/${queue}`, { headers })).status).toBe(200)
    expect((await api().call('DELETE', `/api/queues/%2F/${queue}`, { headers })).status).toBe(204)
    // a typed URL or a bookmark: Sec-Fetch-Site none
    expect((await api().call('GET', '/api/overview', { headers: { 'sec-fetch-site': 'none' } })).status).toBe(200)
    // localhost spelling of the same origin
    const port = api().handle.httpPort!
    expect((await rawRequest(port, 'GET', '/api/whoami', { host: `localhost:${port}`, origin: `http://localhost:${port}` })).status).toBe(200)
  })

  it('other handlers on the API port (the web console) are not affected by the /api rules', async () => {
    const broker = await startBroker({
      port: 0,
      host: '127.0.0.1',
      httpPort: 0,
      httpHandlers: [
        (req, res) => {
          if (!req.url?.startsWith('/console/')) return false
          res.writeHead(200, { 'content-type': 'text/plain' }).end('console')
          return true
        },
      ],
    })
    try {
      const response = await fetch(`http://127.0.0.1:${broker.httpPort}/console/index.html`, { headers: { 'sec-fetch-site': 'cross-site' } })
      expect(response.status).toBe(200)
      expect(await response.text()).toBe('console')
    } finally {
      await broker.close()
    }
  })

  it('httpAllowedHosts admits a host name the user chose', async () => {
    const broker = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0, httpAllowedHosts: ['warren.internal'] })
    try {
      const port = broker.httpPort!
      const browser = { 'sec-fetch-site': 'none' }
      expect((await rawRequest(port, 'GET', '/api/whoami', { host: `warren.internal:${port}`, ...browser })).status).toBe(200)
      expect((await rawRequest(port, 'GET', '/api/whoami', { host: `other.internal:${port}`, ...browser })).status).toBe(403)
    } finally {
      await broker.close()
    }
  })
})

describe('the HTTP API answers on loopback only unless told otherwise', () => {
  it('binds 127.0.0.1 by default', () => {
    expect(api().handle.httpHost).toBe('127.0.0.1')
  })

  it.skipIf(!externalAddress)('is not reachable on this machine\'s other address by default; httpHost 0.0.0.0 (--bind) opts in', async () => {
    const port = api().handle.httpPort!
    await expect(fetch(`http://${externalAddress}:${port}/api/overview`)).rejects.toThrow()
    const open = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0, httpHost: '0.0.0.0' })
    try {
      const response = await fetch(`http://${externalAddress}:${open.httpPort}/api/whoami`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })
      // reachable, but guest is for loopback only
      expect(response.status).toBe(401)
      // a non-loopback bind does not check host names (the user chose the names it is reached by) but still Origin
      expect((await rawRequest(open.httpPort!, 'GET', '/api/whoami', { host: `broker.example:${open.httpPort}` })).status).toBe(200)
      expect((await rawRequest(open.httpPort!, 'GET', '/api/whoami', { host: `broker.example:${open.httpPort}`, origin: 'http://evil.example' })).status).toBe(403)
    } finally {
      await open.close()
    }
  })
})

describe('crossSiteCheck (the rules, one by one)', () => {
  const check = (headers: Record<string, string>, loopbackOnly = true) => crossSiteCheck(headers, { loopbackOnly }).refused
  it('allows what browsers send for same-origin requests and what other clients send', () => {
    expect(check({})).toBeUndefined()
    expect(check({ host: 'localhost:15672' })).toBeUndefined()
    expect(check({ host: 'localhost:15672', origin: 'http://localhost:15672', 'sec-fetch-site': 'same-origin' })).toBeUndefined()
    expect(check({ host: 'example.org', origin: 'https://example.org' }, false)).toBeUndefined()
    expect(check({ host: 'EXAMPLE.org:80', origin: 'http://example.org' }, false)).toBeUndefined()
  })
  it('refuses foreign origins, malformed ones, cross-site fetch metadata and foreign hosts on loopback', () => {
    expect(check({ host: 'localhost:15672', origin: 'http://localhost:8080' })).toMatch(/Origin http:\/\/localhost:8080 is not this server/)
    expect(check({ host: 'localhost:15672', origin: 'not a url' })).toMatch(/malformed Origin/)
    expect(check({ host: 'localhost:15672', 'sec-fetch-site': 'same-site' })).toMatch(/Sec-Fetch-Site: same-site/)
    expect(check({ host: 'attacker.example:15672', 'sec-fetch-mode': 'navigate' })).toMatch(/loopback only/)
    expect(check({ host: 'attacker.example:15672', 'user-agent': 'python-requests/2.28' })).toBeUndefined()
    expect(isAcceptableHost('[::1]:15672')).toBe(true)
    expect(isAcceptableHost('192.168.1.2:15672')).toBe(true)
    expect(isAcceptableHost('localhost.evil.example')).toBe(false)
  })
})
