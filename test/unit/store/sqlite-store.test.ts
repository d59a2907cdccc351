import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { openSqliteStore } from '../../../broker/store'
import type { Store } from '../../../broker/store'
import { message, runStoreSuite, scheduled } from './store-suite'

const directories: string[] = []
function tempDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-store-'))
  directories.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of directories) rmSync(dir, { recursive: true, force: true })
})

runStoreSuite('sqlite', () => {
  const directory = tempDirectory()
  return {
    open: () => openSqliteStore({ directory }),
    reopen: () => openSqliteStore({ directory }),
  }
})

runStoreSuite('sqlite, batchDelayMs 5', () => {
  const directory = tempDirectory()
  return {
    open: () => openSqliteStore({ directory, batchDelayMs: 5 }),
    reopen: () => openSqliteStore({ directory, batchDelayMs: 5 }),
  }
})

const q = { vhost: '/', name: 'q' }
const dbFile = (dir: string) => join(dir, 'warren.db')

describe('SQLite store', () => {
  const stores: Store[] = []
  const raws: Database.Database[] = []
  const open = (directory: string, batchDelayMs?: number): Store => {
    const store = openSqliteStore({ directory, batchDelayMs })
    stores.push(store)
    return store
  }
  const raw = (directory: string, readonly = false): Database.Database => {
    const db = new Database(dbFile(directory), { readonly })
    raws.push(db)
    return db
  }
  afterEach(async () => {
    for (const db of raws.splice(0)) db.close()
    for (const store of stores.splice(0)) await store.close().catch(() => undefined)
  })

  it('creates the directory and a WAL database with a schema version', async () => {
    const directory = join(tempDirectory(), 'nested', 'data')
    const store = open(directory)
    store.addMessage(message(1), [q])
    await store.flush()
    const db = raw(directory, true)
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal')
    expect(db.prepare('SELECT version FROM schema_version').pluck().all()).toEqual([6])
    expect(db.prepare('SELECT vhost, queue, message_id, delivered FROM queue_messages').all()).toEqual([
      { vhost: '/', queue: 'q', message_id: 1, delivered: 0 },
    ])
  })

  it('refuses a database from a newer schema', async () => {
    const directory = tempDirectory()
    await open(directory).close()
    const db = new Database(dbFile(directory))
    db.prepare('UPDATE schema_version SET version = 999').run()
    db.close()
    expect(() => openSqliteStore({ directory })).toThrow(/schema version 999/)
  })

  it('writes nothing at all for a message added and removed before the commit', async () => {
    const directory = tempDirectory()
    const store = open(directory)
    store.saveQueue({ vhost: '/', name: 'q', autoDelete: false, arguments: Buffer.alloc(0) })
    await store.flush()
    const observer = raw(directory, true)
    const version = () => observer.pragma('data_version', { simple: true })
    const before = version()

    // fast consumer: removed from every queue before the batch commits
    store.addMessage(message(1), [q, { vhost: '/', name: 'q2' }])
    store.removeMessage(q, 1)
    store.removeMessage({ vhost: '/', name: 'q2' }, 1)
    // cancelled by a purge
    store.addMessage(message(2), [q])
    store.purgeQueue(q)
    let confirmed: unknown = 'not yet'
    store.whenCommitted((e) => (confirmed = e))
    await store.flush()
    expect(confirmed).toBeUndefined()
    expect(version()).toBe(before) // no other connection committed anything

    // the observer does see real commits, and the cancelled rows never show up among them
    store.addMessage(message(3), [q])
    store.addMessage(message(4), [q])
    store.removeMessage(q, 4)
    await store.flush()
    expect(version()).not.toBe(before)
    expect(observer.prepare('SELECT id FROM messages').pluck().all()).toEqual([3])
    expect(observer.prepare('SELECT message_id FROM queue_messages').pluck().all()).toEqual([3])
  })

  it('collects writes for batchDelayMs and commits them in one transaction', async () => {
    const directory = tempDirectory()
    const store = open(directory, 60)
    const observer = raw(directory, true)
    const version = () => observer.pragma('data_version', { simple: true })
    const before = version()
    const started = Date.now()
    const done = new Promise<number>((resolve) => {
      store.addMessage(message(1), [q])
      setTimeout(() => {
        store.addMessage(message(2), [q])
        store.whenCommitted(() => resolve(Date.now() - started))
      }, 20)
    })
    const mid = await new Promise<unknown>((resolve) => setTimeout(() => resolve(version()), 40))
    expect(mid).toBe(before) // nothing committed yet
    expect(await done).toBeGreaterThanOrEqual(55)
    expect(observer.prepare('SELECT id FROM messages').pluck().all()).toEqual([1, 2])
  })

  it('deletes a deleted exchange\'s scheduled messages in steps: gone for readers at once, from the table over several commits, and at the next open if stopped midway', async () => {
    const directory = tempDirectory()
    let store = open(directory)
    const total = 12_000 // more than two deletion steps of 5,000
    for (let id = 1; id <= total; id++) store.addScheduled(scheduled(id, 10_000 + id, { exchange: 'big' }))
    store.addScheduled(scheduled(total + 1, 5, { exchange: 'other' }))
    await store.flush()
    const rows = raw(directory, true).prepare("SELECT count(*) FROM scheduled WHERE exchange = 'big'").pluck()

    expect(store.dropScheduled('/', 'big')).toBe(total)
    // the same name declared again at once: its new message is not part of the deletion
    store.addScheduled(scheduled(total + 2, 20, { exchange: 'big' }))
    expect(store.countScheduled('/', 'big')).toBe(1)
    expect(store.readScheduled(undefined, 100).map((m) => m.id)).toEqual([total + 1, total + 2])
    await store.flush()
    // the first commit deleted one step's worth; the rest go in later commits
    const afterFirstStep = rows.get() as number
    expect(afterFirstStep).toBeGreaterThan(1)
    expect(afterFirstStep).toBeLessThan(total + 1)
    // stopped midway: the next open finishes the deletion before anything is read
    await store.close()
    store = open(directory)
    expect(rows.get()).toBe(1)
    expect(store.countScheduled('/', 'big')).toBe(1)
    expect(store.readScheduled(undefined, 100).map((m) => m.id)).toEqual([total + 1, total + 2])

    // left running, the steps finish by themselves
    for (let id = total + 3; id <= 2 * total; id++) store.addScheduled(scheduled(id, 30_000 + id, { exchange: 'other' }))
    await store.flush()
    expect(store.dropScheduled('/', 'other')).toBe(total - 1)
    const others = raw(directory, true).prepare("SELECT count(*) FROM scheduled WHERE exchange = 'other'").pluck()
    const deadline = Date.now() + 10_000
    while ((others.get() as number) > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    expect(others.get()).toBe(0)
    expect(store.readScheduled(undefined, 100).map((m) => m.id)).toEqual([total + 2])
  })

  it('reports a failed commit to every waiting callback, keeps what was committed, and recovers', async () => {
    const directory = tempDirectory()
    let store = open(directory)
    store.addMessage(message(1), [q])
    store.saveExchange({ vhost: '/', name: 'x', type: 'direct', autoDelete: false, internal: false, arguments: Buffer.alloc(0) })
    await store.flush()

    // Another connection makes every insert into messages fail, as a full or read-only disk would.
    const other = raw(directory)
    other.exec("CREATE TRIGGER fail BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'simulated disk failure'); END")

    store.addMessage(message(2), [q])
    store.removeMessage(q, 1)
    const results: Array<Error | undefined> = []
    store.whenCommitted((e) => results.push(e))
    store.whenCommitted((e) => results.push(e))
    await expect(store.flush()).rejects.toThrow(/simulated disk failure/)
    expect(results).toHaveLength(2)
    expect(results.every((e) => e instanceof Error && /simulated disk failure/.test(e.message))).toBe(true)

    // the transaction was rolled back: the database still holds message 1, not 2
    expect(other.prepare('SELECT id FROM messages').pluck().all()).toEqual([1])
    // the store is still usable and still shows its queued writes
    expect(store.readMessages(q, 0, 10).map((m) => m.id)).toEqual([2])
    expect(store.countMessages(q)).toBe(1)

    other.exec('DROP TRIGGER fail')
    store.addMessage(message(3), [q])
    let error: unknown = 'not called'
    store.whenCommitted((e) => (error = e))
    await store.flush()
    expect(error).toBeUndefined()
    // the failed batch was retried with the new one
    expect(other.prepare('SELECT id FROM messages').pluck().all()).toEqual([2, 3])

    await store.close()
    store = open(directory)
    expect(store.previousShutdownWasClean).toBe(true)
    expect(store.readMessages(q, 0, 10).map((m) => m.id)).toEqual([2, 3])
    expect(store.loadDefinitions().exchanges.map((x) => x.name)).toEqual(['x'])
  })

  it('does not mark messages from the current run redelivered after an unclean start', async () => {
    const directory = tempDirectory()
    const store = open(directory)
    store.addMessage(message(1), [q])
    await store.flush()
    await store.close()
    // as if the run had been killed: close() never got to record the clean shutdown
    const db = new Database(dbFile(directory))
    db.prepare("UPDATE meta SET value = 0 WHERE key = 'clean_shutdown'").run()
    db.close()

    const again = open(directory)
    expect(again.previousShutdownWasClean).toBe(false)
    again.addMessage(message(2), [q])
    expect(again.readMessages(q, 0, 10).map((m) => [m.id, m.redelivered])).toEqual([[1, true], [2, false]])
  })

  it(
    'keeps every confirmed message through kill -9, five times over',
    async () => {
      const directory = tempDirectory()
      const fixture = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))
      const confirmed: number[] = []
      const removed = new Set<number>()

      for (let round = 0; round < 5; round++) {
        const child = spawn(process.execPath, ['--import', 'tsx', fixture, directory], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let out = ''
        let err = ''
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk))
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk))
        const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))

        // wait for the first confirmation, then kill at a random moment
        const deadline = Date.now() + 15_000
        while (!/^c \d+$/m.test(out)) {
          if (Date.now() > deadline || child.exitCode !== null) throw new Error(`writer did not confirm anything: ${err}`)
          await new Promise((r) => setTimeout(r, 10))
        }
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 250))
        child.kill('SIGKILL')
        expect(await exited).toBe('SIGKILL')

        const lines = out.split('\n')
        lines.pop() // possibly incomplete
        expect(lines[0]).toMatch(/^ready /)
        const roundConfirmed: number[] = []
        for (const line of lines.slice(1)) {
          const [kind, id] = line.split(' ')
          if (kind === 'c') roundConfirmed.push(Number(id))
          else if (kind === 'r') removed.add(Number(id))
          else throw new Error(`unexpected output: ${line}`)
        }
        expect(roundConfirmed.length).toBeGreaterThan(0)
        expect(roundConfirmed).toEqual([...roundConfirmed].sort((x, y) => x - y)) // confirmed in id order
        confirmed.push(...roundConfirmed)

        const check = new Database(dbFile(directory))
        expect(check.pragma('integrity_check', { simple: true })).toBe('ok')
        check.close()

        const store = openSqliteStore({ directory })
        try {
          expect(store.previousShutdownWasClean).toBe(false)
          const inA = store.readMessages({ vhost: '/', name: 'a' }, 0, 1_000_000)
          const idsA = inA.map((m) => m.id)
          expect(idsA).toEqual([...idsA].sort((x, y) => x - y))
          const present = new Set(idsA)
          const missing = confirmed.filter((id) => !present.has(id))
          expect(missing).toEqual([])
          expect(inA.every((m) => m.redelivered)).toBe(true)
          expect(inA.every((m) => m.body.length === 512 && m.body[0] === (m.id & 0xff))).toBe(true)
          const idsB = store.readMessages({ vhost: '/', name: 'b' }, 0, 1_000_000).map((m) => m.id)
          expect(idsB.filter((id) => removed.has(id))).toEqual([]) // committed removals stay removed
          expect(idsB.every((id) => present.has(id))).toBe(true)
          expect(store.lastMessageId).toBeGreaterThanOrEqual(Math.max(...confirmed))
          expect(store.countMessages({ vhost: '/', name: 'a' })).toBe(idsA.length)
        } finally {
          await store.close()
        }
      }
    },
    25_000,
  )

  it('prints a throughput figure', async () => {
    const directory = tempDirectory()
    const store = open(directory)
    const body = Buffer.alloc(1024, 7)
    const properties = Buffer.from([0x80, 0, 2])
    const total = 20_000
    const perTick = 200

    const run = (firstId: number, ack: boolean) =>
      new Promise<number>((resolve) => {
        const started = performance.now()
        let confirmed = 0
        let next = firstId
        const produce = () => {
          for (let i = 0; i < perTick && next < firstId + total; i++) {
            const id = next++
            store.addMessage({ id, exchange: 'amq.direct', routingKey: 'k', properties, body }, [q])
            if (ack) store.removeMessage(q, id)
            store.whenCommitted(() => {
              if (++confirmed === total) resolve(performance.now() - started)
            })
          }
          if (next < firstId + total) setImmediate(produce)
        }
        produce()
      })

    const persisted = await run(1, false)
    const cancelled = await run(total + 1, true)
    expect(store.countMessages(q)).toBe(total)

    // acks of committed messages, in the same kind of batches
    const acked = await new Promise<number>((resolve) => {
      const started = performance.now()
      let confirmed = 0
      let next = 1
      const consume = () => {
        for (let i = 0; i < perTick && next <= total; i++) {
          store.removeMessage(q, next++)
          store.whenCommitted(() => {
            if (++confirmed === total) resolve(performance.now() - started)
          })
        }
        if (next <= total) setImmediate(consume)
      }
      consume()
    })
    expect(store.countMessages(q)).toBe(0)

    const rate = (ms: number) => Math.round((total / ms) * 1000).toLocaleString('en-US')
    console.log(
      `[sqlite store] 1 KB bodies, ${perTick} per event-loop turn, synchronous=FULL: ` +
        `${rate(persisted)} addMessage+whenCommitted/s persisted; ` +
        `${rate(cancelled)}/s when removed before the commit; ` +
        `${rate(acked)} removeMessage+whenCommitted/s of committed messages`,
    )
  })
})
