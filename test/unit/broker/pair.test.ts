// The pair's parts in one process: the storage lock, the takeover log, the member list, and two members on one data
// directory (active + standby, GET /api/ha on both, the standby's 503, a clean stop handing over). The kill -9 and
// race cases, with real processes, are in test/integration/pair.test.ts.
import { appendFileSync, rmSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { parseCliOptions } from '../../../broker/cli-options'
import { PairLock } from '../../../broker/ha/lock'
import { appendTakeover, lockFile, memberList, readTakeovers, writeDescriptor, type MemberDescriptor } from '../../../broker/ha/members'
import { startPairMember, type PairMember } from '../../../broker/ha/pair'
import type { HaTakeover } from '../../../broker/ha/status'
import { makeTempDir, waitFor } from '../../helpers/broker'
import { startHttpBroker } from '../../helpers/http'

const dirs: string[] = []
function tempDir(): string {
  const dir = makeTempDir('warren-pair-unit-')
  dirs.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

function basic(user: string, password = user): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` }
}

async function getJson(port: number, path: string, headers: Record<string, string> = basic('guest')) {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers })
  const text = await response.text()
  return { status: response.status, body: text ? JSON.parse(text) : undefined }
}

describe('storage lock', () => {
  it('one holder at a time; another attempt is refused until the holder lets go', () => {
    const file = lockFile(tempDir())
    const a = new PairLock(file)
    const b = new PairLock(file)
    expect(a.tryAcquire('a', 0)).toBe(true)
    expect(b.tryAcquire('b', 0)).toBe(false)
    // waiting does not help while the holder is alive
    expect(b.tryAcquire('b', 150)).toBe(false)
    expect(b.held).toBe(false)
    const db = new Database(file, { readonly: true, timeout: 0 })
    expect(() => db.prepare('SELECT node FROM holder').get()).toThrow(/locked|busy/i)
    db.close()
    a.release()
    expect(b.tryAcquire('b', 0)).toBe(true)
    expect(a.tryAcquire('a', 0)).toBe(false)
    b.release()
    const after = new Database(file, { readonly: true })
    expect(after.prepare('SELECT node, pid FROM holder').get()).toEqual({ node: 'b', pid: process.pid })
    after.close()
  })
})

describe('takeover log and member list', () => {
  const takeover = (n: number): HaTakeover => ({ at: n, node: `n${n}`, previous: null, reason: 'start', took_ms: n })

  it('lists the last 100 takeovers newest first and survives a torn line', () => {
    const dir = tempDir()
    for (let i = 1; i <= 120; i++) appendTakeover(dir, takeover(i))
    const list = readTakeovers(dir)
    expect(list).toHaveLength(100)
    expect(list[0].at).toBe(120)
    expect(list[99].at).toBe(21)
    // a member killed in the middle of an append: the next takeover still gets a line of its own
    appendFileSync(join(dir, 'pair', 'takeovers.jsonl'), '{"at":121,"node":"torn')
    appendTakeover(dir, takeover(122))
    expect(readTakeovers(dir, 3).map((t) => t.at)).toEqual([122, 120, 119])
  })

  it('shows stopped, silent and vanished members as down, and a stale claim to be active as down', () => {
    const dir = tempDir()
    const now = Date.now()
    const base = { amqp: 'h:1', http: null, hostname: 'elsewhere', started_at: now - 10_000, active_since: null } as const
    const self: MemberDescriptor = { ...base, name: 'me', role: 'active', pid: process.pid, hostname: hostname(), last_seen_at: now, active_since: now - 5000 }
    writeDescriptor(dir, { ...base, name: 'fresh', role: 'standby', pid: 1, last_seen_at: now })
    writeDescriptor(dir, { ...base, name: 'silent', role: 'standby', pid: 1, last_seen_at: now - 60_000 })
    writeDescriptor(dir, { ...base, name: 'stopped', role: 'stopped', pid: 1, last_seen_at: now })
    writeDescriptor(dir, { ...base, name: 'old-active', role: 'active', pid: 1, last_seen_at: now, active_since: now - 9000 })
    // same machine, a pid that does not exist
    writeDescriptor(dir, { ...base, name: 'vanished', role: 'standby', pid: 2 ** 22 + 17, hostname: hostname(), last_seen_at: now })
    writeFileSync(join(dir, 'pair', 'members', 'garbage.json'), '{not json')
    const roles = Object.fromEntries(memberList(dir, self, hostname(), now).map((m) => [m.name, m.role]))
    expect(roles).toEqual({ me: 'active', fresh: 'standby', silent: 'down', stopped: 'down', 'old-active': 'down', vanished: 'down' })
    const list = memberList(dir, self, hostname(), now)
    expect(list[0].name).toBe('me')
    expect(list.find((m) => m.name === 'old-active')!.active_since).toBeNull()
  })
})

describe('two members in one process', () => {
  const members: PairMember[] = []
  afterEach(async () => {
    for (const m of members.splice(0)) await m.close()
  })

  it('one active, one standby: /api/ha on both, the standby answers 503 elsewhere; a clean stop hands over', async () => {
    const dir = tempDir()
    const a = await startPairMember({ dataDir: dir, node: 'a', broker: { port: 0, host: '127.0.0.1', httpPort: 0 }, pollMs: 50 })
    members.push(a)
    expect(a.role).toBe('active')
    const b = await startPairMember({ dataDir: dir, node: 'b', broker: { port: 0, host: '127.0.0.1', httpPort: 0 }, pollMs: 50 })
    members.push(b)
    expect(b.role).toBe('standby')
    expect(b.broker).toBeUndefined()
    const aHttp = a.broker!.httpPort!
    const bHttp = b.standbyHttpPort!

    // a user without the management tag, created on the active, is known to the standby (it reads warren.db)
    const put = await fetch(`http://127.0.0.1:${aHttp}/api/users/plain`, {
      method: 'PUT',
      headers: { ...basic('guest'), 'content-type': 'application/json' },
      body: JSON.stringify({ password: 'pw', tags: '' }),
    })
    expect(put.status).toBeLessThan(300)

    for (const port of [aHttp, bHttp]) {
      const { status, body } = await getJson(port, '/api/ha')
      expect(status).toBe(200)
      expect(body.mode).toBe('pair')
      expect(Object.fromEntries(body.members.map((m: { name: string; role: string }) => [m.name, m.role]))).toEqual({ a: 'active', b: 'standby' })
      expect(body.takeovers[0]).toMatchObject({ node: 'a', previous: null, reason: 'start' })
      const active = body.members.find((m: { name: string }) => m.name === 'a')
      expect(active).toMatchObject({ amqp: `127.0.0.1:${a.broker!.port}`, http: `127.0.0.1:${aHttp}`, pid: process.pid, hostname: hostname() })
      expect(typeof active.active_since).toBe('number')
    }
    expect((await getJson(aHttp, '/api/ha')).body).toMatchObject({ node: 'a', role: 'active' })
    expect((await getJson(bHttp, '/api/ha')).body).toMatchObject({ node: 'b', role: 'standby' })

    const refused = await getJson(bHttp, '/api/queues')
    expect(refused).toEqual({
      status: 503,
      body: { error: 'standby', reason: `this broker is the standby of a pair; the active one is a at 127.0.0.1:${a.broker!.port}` },
    })
    expect((await getJson(bHttp, '/api/health/checks/alarms')).status).toBe(200)
    expect((await getJson(bHttp, '/api/health/checks/virtual-hosts')).status).toBe(503)
    expect((await getJson(bHttp, '/api/ha', basic('guest', 'wrong'))).status).toBe(401)
    expect((await getJson(bHttp, '/api/ha', basic('plain', 'pw'))).status).toBe(401)
    expect((await getJson(bHttp, '/api/ha', {})).status).toBe(401)

    await a.close()
    await waitFor(() => b.role === 'active', 5000)
    const after = await getJson(b.broker!.httpPort!, '/api/ha')
    expect(after.body.role).toBe('active')
    expect(after.body.takeovers[0]).toMatchObject({ node: 'b', previous: 'a', reason: 'peer-stopped' })
    expect(after.body.takeovers[0].took_ms).toBeLessThan(5000)
    expect(Object.fromEntries(after.body.members.map((m: { name: string; role: string }) => [m.name, m.role]))).toEqual({ a: 'down', b: 'active' })
    // the user made on a survived into b's broker
    expect((await getJson(b.broker!.httpPort!, '/api/users/plain')).status).toBe(200)
  })

  it('a member stopped in the middle of its takeover closes its broker before it lets the lock go', async () => {
    const { freePorts, acceptsConnections } = await import('../../helpers/pair')
    for (const delay of [0, 20, 40, 60, 80, 120]) {
      const dir = tempDir()
      const [port] = await freePorts(1)
      const a = await startPairMember({ dataDir: dir, node: 'a', broker: { port: 0, host: '127.0.0.1' }, pollMs: 20 })
      const b = await startPairMember({ dataDir: dir, node: 'b', broker: { port, host: '127.0.0.1' }, pollMs: 20 })
      await a.close()
      await new Promise((resolve) => setTimeout(resolve, delay))
      await b.close()
      // whatever b had reached: nothing listens any more, and the lock is free
      expect(await acceptsConnections(port)).toBe(false)
      const lock = new PairLock(lockFile(dir))
      expect(lock.tryAcquire('test', 0)).toBe(true)
      lock.release()
    }
  })

  it('refuses a second live member with the same name', async () => {
    const dir = tempDir()
    const a = await startPairMember({ dataDir: dir, node: 'same', broker: { port: 0, host: '127.0.0.1' } })
    members.push(a)
    // another process's descriptor with this name: simulated by the same file with a live pid that is not ours
    writeDescriptor(dir, { name: 'same', role: 'active', amqp: 'x:1', http: null, pid: process.ppid, hostname: hostname(), started_at: Date.now(), last_seen_at: Date.now(), active_since: Date.now() })
    await expect(startPairMember({ dataDir: dir, node: 'same', broker: { port: 0, host: '127.0.0.1' } })).rejects.toThrow(/another pair member named "same"/)
  })
})

describe('single broker', () => {
  it('GET /api/ha answers mode single with itself as the only, active member', async () => {
    const broker = await startHttpBroker()
    try {
      const { status, body } = await broker.get('/api/ha')
      expect(status).toBe(200)
      expect(body).toMatchObject({ mode: 'single', role: 'active', takeovers: [] })
      expect(body.members).toHaveLength(1)
      expect(body.members[0]).toMatchObject({ name: body.node, role: 'active', amqp: `127.0.0.1:${broker.handle.port}`, http: `127.0.0.1:${broker.handle.httpPort}`, pid: process.pid })
    } finally {
      await broker.handle.close()
    }
  })
})

describe('--pair and --node options', () => {
  it('--pair needs --data, --node needs --pair, names are checked', () => {
    expect(parseCliOptions(['--pair'])).toMatchObject({ kind: 'error', message: expect.stringMatching(/--pair needs --data/) })
    expect(parseCliOptions(['--node', 'x', '--data', 'd'])).toMatchObject({ kind: 'error', message: expect.stringMatching(/--node needs --pair/) })
    expect(parseCliOptions(['--pair', '--data', 'd', '--node', 'a/b'])).toMatchObject({ kind: 'error' })
    expect(parseCliOptions(['--pair', '--data', 'd', '--node', ' '])).toMatchObject({ kind: 'error' })
    expect(parseCliOptions(['--pair', '--data', 'd', '--node', 'east@host'])).toMatchObject({ kind: 'run', options: { pair: true, node: 'east@host', dataDir: 'd' } })
  })
})

