import { afterEach, describe, expect, it } from 'vitest'
import type {
  BindingRecord,
  Definitions,
  ExchangeRecord,
  PermissionRecord,
  QueueRecord,
  QueueRef,
  ScheduledMessage,
  Store,
  StoredMessage,
  UserRecord,
  VhostRecord,
} from '../../../broker/store'

export interface StoreUnderTest {
  /** Opens the store (fresh data for every factory() call). */
  open(): Store
  /** Opens the same data again; only for stores that persist. The test closes the previous store first. */
  reopen?(): Store
}

export function message(id: number, body = `body ${id}`, extra: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id,
    exchange: 'amq.direct',
    routingKey: `key.${id}`,
    properties: Buffer.from([0x80, 0x00, id & 0xff]),
    body: Buffer.from(body),
    ...extra,
  }
}

export function scheduled(id: number, dueAt: number, extra: Partial<ScheduledMessage> = {}): ScheduledMessage {
  return {
    id,
    vhost: '/',
    exchange: 'dx',
    routingKey: `key.${id}`,
    properties: Buffer.from([0x20, 0x00, id & 0xff]),
    body: Buffer.from(`scheduled ${id}`),
    dueAt,
    ...extra,
  }
}

const q1: QueueRef = { vhost: '/', name: 'q1' }
const q2: QueueRef = { vhost: '/', name: 'q2' }
const q3: QueueRef = { vhost: 'other', name: 'q1' }

const ids = (store: Store, queue: QueueRef, afterId = 0, limit = 1000): number[] =>
  store.readMessages(queue, afterId, limit).map((m) => m.id)

function sorted(d: Omit<Definitions, 'policies'> & { policies?: Definitions['policies'] }): Definitions {
  const by = <T>(key: (x: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)
  return {
    vhosts: [...d.vhosts].sort(by((v) => v.name)),
    users: [...d.users].sort(by((u) => u.name)),
    permissions: [...d.permissions].sort(by((p) => `${p.user}\0${p.vhost}`)),
    exchanges: [...d.exchanges].sort(by((e) => `${e.vhost}\0${e.name}`)),
    queues: [...d.queues].sort(by((q) => `${q.vhost}\0${q.name}`)),
    bindings: [...d.bindings].sort(
      by((b) =>
        [b.vhost, b.source, b.destinationType, b.destination, b.routingKey, b.arguments.toString('hex')].join('\0'),
      ),
    ),
    policies: [...(d.policies ?? [])].sort(by((p) => `${p.vhost}\0${p.name}`)),
  }
}

const vhostA: VhostRecord = { name: '/', description: 'default', tags: ['a', 'b'] }
const vhostB: VhostRecord = { name: 'other', description: '', tags: [], defaultQueueType: 'classic' }
const userA: UserRecord = { name: 'guest', passwordHash: 'abcd==', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: ['administrator'] }
const userB: UserRecord = { name: 'bob', passwordHash: 'xyz=', hashingAlgorithm: 'rabbit_password_hashing_sha256', tags: [] }
const permA: PermissionRecord = { user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' }
const permB: PermissionRecord = { user: 'guest', vhost: 'other', configure: '', write: '^x', read: '.*' }
const permC: PermissionRecord = { user: 'bob', vhost: '/', configure: '', write: '', read: '.*' }
const exA: ExchangeRecord = { vhost: '/', name: 'ex', type: 'topic', autoDelete: false, internal: false, arguments: Buffer.alloc(0) }
const exB: ExchangeRecord = { vhost: '/', name: 'ex2', type: 'fanout', autoDelete: true, internal: true, arguments: Buffer.from([1, 2, 3]) }
const exC: ExchangeRecord = { vhost: 'other', name: 'ex', type: 'direct', autoDelete: false, internal: false, arguments: Buffer.alloc(0) }
const queueA: QueueRecord = { vhost: '/', name: 'q1', autoDelete: false, arguments: Buffer.from('args') }
const queueB: QueueRecord = { vhost: '/', name: 'q2', autoDelete: true, arguments: Buffer.alloc(0) }
const queueC: QueueRecord = { vhost: 'other', name: 'q1', autoDelete: false, arguments: Buffer.alloc(0) }
const bind = (source: string, destination: string, destinationType: 'queue' | 'exchange', routingKey = '#', args = Buffer.alloc(0), vhost = '/'): BindingRecord =>
  ({ vhost, source, destination, destinationType, routingKey, arguments: args })

function saveAllDefinitions(store: Store): void {
  store.saveVhost(vhostA)
  store.saveVhost(vhostB)
  store.saveUser(userA)
  store.saveUser(userB)
  store.savePermission(permA)
  store.savePermission(permB)
  store.savePermission(permC)
  store.saveExchange(exA)
  store.saveExchange(exB)
  store.saveExchange(exC)
  store.saveQueue(queueA)
  store.saveQueue(queueB)
  store.saveQueue(queueC)
  store.saveBinding(bind('ex', 'q1', 'queue', 'a.*'))
  store.saveBinding(bind('ex', 'q1', 'queue', 'a.*', Buffer.from([9]))) // differs only by arguments
  store.saveBinding(bind('ex', 'q2', 'queue'))
  store.saveBinding(bind('ex', 'ex2', 'exchange'))
  store.saveBinding(bind('ex2', 'q2', 'queue'))
  store.saveBinding(bind('ex', 'q1', 'queue', 'k', Buffer.alloc(0), 'other'))
}

export function runStoreSuite(name: string, factory: () => StoreUnderTest): void {
  describe(`Store contract: ${name}`, () => {
    let opened: Store[] = []
    let current: StoreUnderTest

    afterEach(async () => {
      for (const store of opened) await store.close().catch(() => undefined)
      opened = []
    })

    const open = (): Store => {
      current = factory()
      const store = current.open()
      opened.push(store)
      return store
    }
    /** Closes cleanly and opens the same data again, or keeps the same store when it does not persist. */
    const cycle = async (store: Store): Promise<Store> => {
      if (!current.reopen) {
        await store.flush()
        return store
      }
      await store.close()
      const again = current.reopen()
      opened.push(again)
      return again
    }
    const persists = (): boolean => current.reopen !== undefined

    it('starts empty', () => {
      const store = open()
      expect(store.loadDefinitions()).toEqual({ vhosts: [], users: [], permissions: [], exchanges: [], queues: [], bindings: [], policies: [] })
      expect(store.lastMessageId).toBe(0)
      expect(store.previousShutdownWasClean).toBe(true)
      expect(store.countMessages(q1)).toBe(0)
      expect(store.readMessages(q1, 0, 10)).toEqual([])
    })

    it('round-trips definitions, and a save replaces the record with the same key', async () => {
      let store = open()
      saveAllDefinitions(store)
      store.saveQueue({ ...queueB, arguments: Buffer.from('new args') })
      store.saveVhost({ ...vhostA, description: 'changed' })
      const expected = sorted({
        vhosts: [{ ...vhostA, description: 'changed' }, vhostB],
        users: [userA, userB],
        permissions: [permA, permB, permC],
        exchanges: [exA, exB, exC],
        queues: [queueA, { ...queueB, arguments: Buffer.from('new args') }, queueC],
        bindings: [
          bind('ex', 'q1', 'queue', 'a.*'),
          bind('ex', 'q1', 'queue', 'a.*', Buffer.from([9])),
          bind('ex', 'q2', 'queue'),
          bind('ex', 'ex2', 'exchange'),
          bind('ex2', 'q2', 'queue'),
          bind('ex', 'q1', 'queue', 'k', Buffer.alloc(0), 'other'),
        ],
      })
      await store.flush()
      expect(sorted(store.loadDefinitions())).toEqual(expected)
      store = await cycle(store)
      expect(sorted(store.loadDefinitions())).toEqual(expected)
    })

    it('round-trips policies, replaces them by (vhost, name), and deletes them alone or with their vhost', async () => {
      let store = open()
      store.saveVhost(vhostA)
      store.saveVhost(vhostB)
      const ttl = { vhost: '/', name: 'ttl', pattern: '^ttl\\.', applyTo: 'queues', priority: 0, definition: '{"message-ttl":100}' }
      const ae = { vhost: '/', name: 'ae', pattern: '.*', applyTo: 'exchanges', priority: 5, definition: '{"alternate-exchange":"unrouted"}' }
      const other = { vhost: 'other', name: 'ttl', pattern: '', applyTo: 'all', priority: -1, definition: '{"max-length":3}' }
      store.savePolicy(ttl)
      store.savePolicy(ae)
      store.savePolicy(other)
      store.savePolicy({ ...ttl, priority: 7 })
      await store.flush()
      expect(sorted(store.loadDefinitions()).policies).toEqual([{ ...ae }, { ...ttl, priority: 7 }, { ...other }])
      store = await cycle(store)
      expect(sorted(store.loadDefinitions()).policies).toEqual([{ ...ae }, { ...ttl, priority: 7 }, { ...other }])
      store.deletePolicy('/', 'ae')
      store.deletePolicy('/', 'missing')
      store.deleteVhost('other')
      store = await cycle(store)
      expect(store.loadDefinitions().policies).toEqual([{ ...ttl, priority: 7 }])
    })

    it('round-trips runtime parameters, replaces them by (vhost, component, name), and deletes them alone or with their vhost', async () => {
      let store = open()
      store.saveVhost(vhostA)
      store.saveVhost(vhostB)
      const s1 = { vhost: '/', component: 'shovel', name: 's1', value: '{"src-uri":"amqp://","src-queue":"a","dest-uri":"amqp://"}' }
      const other = { vhost: '/', component: 'federation-upstream', name: 's1', value: '{"uri":"amqp://x"}' }
      const s2 = { vhost: 'other', component: 'shovel', name: 's2', value: '{}' }
      store.saveParameter(s1)
      store.saveParameter(other)
      store.saveParameter(s2)
      store.saveParameter({ ...s1, value: '{"changed":true}' })
      const key = (p: { vhost: string; component: string; name: string }) => `${p.vhost}\0${p.component}\0${p.name}`
      const all = (st: Store) => st.loadParameters().sort((a, b) => (key(a) < key(b) ? -1 : 1))
      await store.flush()
      expect(all(store)).toEqual([other, { ...s1, value: '{"changed":true}' }, s2])
      store = await cycle(store)
      expect(all(store)).toEqual([other, { ...s1, value: '{"changed":true}' }, s2])
      store.deleteParameter('/', 'federation-upstream', 's1')
      store.deleteParameter('/', 'shovel', 'missing')
      store.deleteVhost('other')
      store = await cycle(store)
      expect(all(store)).toEqual([{ ...s1, value: '{"changed":true}' }])
      expect(store.loadDefinitions().vhosts.map((v) => v.name)).toEqual(['/'])
    })

    it('deletes definitions with their cascades', async () => {
      let store = open()
      saveAllDefinitions(store)
      store.addMessage(message(1), [q1, q2])
      store.addMessage(message(2), [q3])
      await store.flush()

      store.deleteBinding(bind('ex', 'q1', 'queue', 'a.*', Buffer.from([9])))
      store.deletePermission('bob', '/')
      let d = sorted(store.loadDefinitions())
      expect(d.bindings).toHaveLength(5)
      expect(d.bindings.some((b) => b.arguments.length === 1)).toBe(false)
      expect(d.permissions).toEqual([permA, permB])

      // an exchange takes the bindings where it is source or destination
      store.deleteExchange('/', 'ex2')
      d = sorted(store.loadDefinitions())
      expect(d.exchanges).toEqual(sorted({ ...d, exchanges: [exA, exC] }).exchanges)
      expect(d.bindings).toEqual(sorted({ ...d, bindings: [bind('ex', 'q1', 'queue', 'a.*'), bind('ex', 'q2', 'queue'), bind('ex', 'q1', 'queue', 'k', Buffer.alloc(0), 'other')] }).bindings)

      // a queue takes its bindings and its messages; the same queue name in another vhost is untouched
      store.deleteQueue('/', 'q1')
      expect(store.countMessages(q1)).toBe(0)
      expect(ids(store, q2)).toEqual([1])
      d = sorted(store.loadDefinitions())
      expect(d.queues).toEqual([queueB, queueC])
      expect(d.bindings).toEqual([bind('ex', 'q2', 'queue'), bind('ex', 'q1', 'queue', 'k', Buffer.alloc(0), 'other')])

      // a user takes its permissions
      store.deleteUser('guest')
      d = sorted(store.loadDefinitions())
      expect(d.users).toEqual([userB])
      expect(d.permissions).toEqual([])
      store.savePermission(permB)

      store = await cycle(store)
      expect(ids(store, q1)).toEqual([])
      expect(ids(store, q2)).toEqual([1])
      expect(ids(store, q3)).toEqual([2])

      // a vhost takes everything in it
      store.deleteVhost('other')
      expect(store.countMessages(q3)).toBe(0)
      d = sorted(store.loadDefinitions())
      expect(d.vhosts).toEqual([vhostA])
      expect(d.exchanges).toEqual([exA])
      expect(d.queues).toEqual([queueB])
      expect(d.bindings).toEqual([bind('ex', 'q2', 'queue')])
      expect(d.permissions).toEqual([])
      store = await cycle(store)
      expect(ids(store, q3)).toEqual([])
      expect(ids(store, q2)).toEqual([1])
      expect(sorted(store.loadDefinitions()).queues).toEqual([queueB])
    })

    it('returns messages per queue in id order, whatever order they were added in', async () => {
      let store = open()
      store.addMessage(message(3), [q1])
      store.addMessage(message(4), [q2, q1])
      store.addMessage(message(1), [q2])
      await store.flush()
      store.addMessage(message(10), [q1])
      store.addMessage(message(7), [q1, q3])
      store.addMessage(message(5), [q1, q1]) // a repeated queue counts once
      const check = (s: Store) => {
        expect(ids(s, q1)).toEqual([3, 4, 5, 7, 10])
        expect(ids(s, q2)).toEqual([1, 4])
        expect(ids(s, q3)).toEqual([7])
        expect(s.countMessages(q1)).toBe(5)
        const m7 = s.readMessages(q3, 0, 1)[0]
        expect(m7).toEqual({ ...message(7), redelivered: false })
      }
      check(store)
      store = await cycle(store)
      check(store)
      expect(store.lastMessageId).toBe(10)
    })

    it('stores a body once for all its queues and drops it with its last entry', async () => {
      let store = open()
      store.addMessage(message(1, 'shared'), [q1, q2, q3])
      await store.flush()
      expect(() => store.addMessage(message(1), [q1])).toThrow()

      store.removeMessage(q1, 1)
      store.removeMessage(q1, 1) // a second removal of the same entry changes nothing
      store.removeMessage(q1, 99) // nor does removing an unknown message
      store = await cycle(store)
      expect(ids(store, q1)).toEqual([])
      expect(store.readMessages(q2, 0, 10)[0].body.toString()).toBe('shared')
      expect(store.readMessages(q3, 0, 10)[0].body.toString()).toBe('shared')

      store.removeMessage(q2, 1)
      expect(store.readMessages(q3, 0, 10)[0].body.toString()).toBe('shared')
      store.removeMessage(q3, 1)
      expect(ids(store, q3)).toEqual([])
      store = await cycle(store)
      expect(ids(store, q2)).toEqual([])
      expect(ids(store, q3)).toEqual([])
      // the id is free again: nothing of message 1 is left
      store.addMessage(message(1, 'again'), [q2])
      expect(store.readMessages(q2, 0, 10)[0].body.toString()).toBe('again')
    })

    it('cancels a message added and removed before any commit', async () => {
      let store = open()
      store.addMessage(message(1), [q1, q2])
      store.addMessage(message(2), [q1])
      store.removeMessage(q1, 1)
      expect(ids(store, q1)).toEqual([2])
      expect(ids(store, q2)).toEqual([1])
      store.removeMessage(q2, 1)
      expect(store.countMessages(q2)).toBe(0)
      expect(ids(store, q2)).toEqual([])
      store.markDelivered(q2, 1) // no longer there: ignored
      store = await cycle(store)
      expect(ids(store, q1)).toEqual([2])
      expect(ids(store, q2)).toEqual([])
      expect(store.countMessages(q1)).toBe(1)
    })

    it('marks messages delivered, and they come back redelivered', async () => {
      let store = open()
      store.addMessage(message(1), [q1, q2])
      store.addMessage(message(2), [q1])
      await store.flush()
      store.addMessage(message(3), [q1])
      store.markDelivered(q1, 1) // committed
      store.markDelivered(q1, 3) // still in the batch
      store.markDelivered(q1, 42) // unknown: ignored
      const check = (s: Store) => {
        expect(s.readMessages(q1, 0, 10).map((m) => [m.id, m.redelivered])).toEqual([[1, true], [2, false], [3, true]])
        // the flag is per queue entry
        expect(s.readMessages(q2, 0, 10).map((m) => [m.id, m.redelivered])).toEqual([[1, false]])
      }
      check(store)
      store = await cycle(store)
      expect(store.previousShutdownWasClean).toBe(true)
      check(store)
    })

    it('purges one queue only', async () => {
      let store = open()
      store.addMessage(message(1), [q1, q2])
      store.addMessage(message(2), [q1])
      await store.flush()
      store.addMessage(message(3), [q1, q2])
      store.addMessage(message(4), [q1])
      store.removeMessage(q1, 2)
      store.purgeQueue(q1)
      expect(store.countMessages(q1)).toBe(0)
      expect(ids(store, q1)).toEqual([])
      expect(ids(store, q2)).toEqual([1, 3])
      store.removeMessage(q1, 1) // already purged: no effect on the body kept for q2
      store.addMessage(message(5), [q1])
      expect(ids(store, q1)).toEqual([5])
      store = await cycle(store)
      expect(ids(store, q1)).toEqual([5])
      expect(ids(store, q2)).toEqual([1, 3])
      expect(store.readMessages(q2, 0, 10).map((m) => m.body.toString())).toEqual(['body 1', 'body 3'])
      store.purgeQueue(q2)
      store.purgeQueue({ vhost: '/', name: 'never-used' })
      store = await cycle(store)
      expect(ids(store, q2)).toEqual([])
      expect(ids(store, q1)).toEqual([5])
    })

    it('reads in pages after an id, across committed and queued messages', async () => {
      let store = open()
      for (let id = 2; id <= 40; id += 2) store.addMessage(message(id), [q1]) // 20 messages
      await store.flush()
      for (let id = 41; id <= 50; id++) store.addMessage(message(id), [q1]) // 10 more, queued
      store.addMessage(message(1), [q1]) // queued, and before all others
      store.removeMessage(q1, 10)
      store.removeMessage(q1, 44)
      const pages = (s: Store) => {
        const out: number[][] = []
        let after = 0
        for (;;) {
          const page = s.readMessages(q1, after, 7).map((m) => m.id)
          if (page.length === 0) break
          out.push(page)
          after = page[page.length - 1]
        }
        return out
      }
      const expected = [
        [1, 2, 4, 6, 8, 12, 14],
        [16, 18, 20, 22, 24, 26, 28],
        [30, 32, 34, 36, 38, 40, 41],
        [42, 43, 45, 46, 47, 48, 49],
        [50],
      ]
      expect(pages(store)).toEqual(expected)
      expect(ids(store, q1, 9, 3)).toEqual([12, 14, 16]) // afterId in a gap
      expect(ids(store, q1, 50, 3)).toEqual([])
      expect(store.readMessages(q1, 0, 0)).toEqual([])
      expect(store.countMessages(q1)).toBe(29)
      store = await cycle(store)
      expect(pages(store)).toEqual(expected)
    })

    it('keeps when a message entered its queues', async () => {
      let store = open()
      store.addMessage({ ...message(1), enqueuedAt: 1_700_000_000_123 }, [q1])
      store.addMessage(message(2), [q1])
      expect(store.readMessages(q1, 0, 10).map((m) => m.enqueuedAt)).toEqual([1_700_000_000_123, undefined])
      store = await cycle(store)
      expect(store.readMessages(q1, 0, 10).map((m) => m.enqueuedAt)).toEqual([1_700_000_000_123, undefined])
    })

    it('counts exactly', async () => {
      let store = open()
      for (let id = 1; id <= 10; id++) store.addMessage(message(id), id % 2 ? [q1, q2] : [q1])
      expect(store.countMessages(q1)).toBe(10)
      expect(store.countMessages(q2)).toBe(5)
      await store.flush()
      store.removeMessage(q1, 1)
      store.addMessage(message(11), [q2])
      expect(store.countMessages(q1)).toBe(9)
      expect(store.countMessages(q2)).toBe(6)
      expect(store.countMessages(q3)).toBe(0)
      store = await cycle(store)
      expect(store.countMessages(q1)).toBe(9)
      expect(store.countMessages(q2)).toBe(6)
    })

    it('summarises a queue after an id without reading it (queueSummary), across committed and queued writes', async () => {
      let store = open()
      for (let id = 1; id <= 30; id++) store.addMessage(message(id), id % 3 === 0 ? [q1, q2] : [q1])
      await store.flush()
      for (let id = 31; id <= 40; id++) store.addMessage(message(id), [q1]) // queued
      store.removeMessage(q1, 5)
      store.removeMessage(q1, 40)
      expect(store.queueSummary(q1, 0)).toEqual({ count: 38, lastId: 39 })
      expect(store.queueSummary(q1, 10)).toEqual({ count: 29, lastId: 39 })
      expect(store.queueSummary(q2, 9)).toEqual({ count: 7, lastId: 30 })
      expect(store.queueSummary(q1, 39)).toEqual({ count: 0, lastId: 0 })
      expect(store.queueSummary(q3, 0)).toEqual({ count: 0, lastId: 0 })
      store = await cycle(store)
      expect(store.queueSummary(q1, 10)).toEqual({ count: 29, lastId: 39 })
      expect(store.queueSummary(q1, 0).count).toBe(store.countMessages(q1))
    })

    it('removes a range of one queue in one call (removeMessageRange), bodies with their last entry', async () => {
      let store = open()
      for (let id = 1; id <= 20; id++) store.addMessage(message(id), id % 2 ? [q1, q2] : [q1])
      await store.flush()
      for (let id = 21; id <= 30; id++) store.addMessage(message(id), [q1]) // queued
      store.removeMessage(q1, 12) // a removal queued inside the range
      expect(store.removeMessageRange(q1, 9, 25)).toBe(15) // 10..25 without 12
      expect(ids(store, q1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 26, 27, 28, 29, 30])
      expect(store.countMessages(q1)).toBe(14)
      expect(store.queueSummary(q1, 0)).toEqual({ count: 14, lastId: 30 })
      // q2 keeps its entries in that range, with their bodies
      expect(ids(store, q2)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19])
      expect(store.removeMessageRange(q1, 9, 25)).toBe(0)
      expect(store.removeMessageRange(q3, 0, 100)).toBe(0)
      store = await cycle(store)
      expect(ids(store, q1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 26, 27, 28, 29, 30])
      expect(store.readMessages(q2, 10, 2).map((m) => m.body.toString())).toEqual(['body 11', 'body 13'])
      store.removeMessageRange(q2, 0, 100)
      store = await cycle(store)
      expect(ids(store, q2)).toEqual([])
      expect(store.countMessages(q2)).toBe(0)
      expect(ids(store, q1)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 26, 27, 28, 29, 30])
    })

    it('keeps lastMessageId increasing, even when every message is gone', async () => {
      let store = open()
      for (let id = 1; id <= 5; id++) store.addMessage(message(id), [q1])
      expect(store.lastMessageId).toBe(5)
      await store.flush()
      for (let id = 1; id <= 5; id++) store.removeMessage(q1, id)
      store.addMessage(message(3, 'x'), [q2]) // a lower id does not lower it
      store.removeMessage(q2, 3)
      await store.flush()
      expect(store.lastMessageId).toBe(5)
      store = await cycle(store)
      expect(store.lastMessageId).toBe(5)
      expect(store.countMessages(q1)).toBe(0)
      store.addMessage(message(8), [q1])
      await store.flush()
      store.removeMessage(q1, 8)
      store = await cycle(store)
      expect(store.lastMessageId).toBe(8)
    })

    it('calls whenCommitted callbacks asynchronously, in order, once each', async () => {
      const store = open()
      const calls: string[] = []
      store.whenCommitted((e) => calls.push(`a${e ? '!' : ''}`))
      store.addMessage(message(1), [q1])
      store.whenCommitted((e) => calls.push(`b${e ? '!' : ''}`))
      store.saveQueue(queueA)
      store.whenCommitted((e) => {
        calls.push(`c${e ? '!' : ''}`)
        // registered from inside a callback: still called, after the others
        store.addMessage(message(2), [q1])
        store.whenCommitted(() => calls.push('e'))
      })
      store.whenCommitted(() => calls.push('d'))
      expect(calls).toEqual([])
      await store.flush()
      await store.flush()
      expect(calls).toEqual(['a', 'b', 'c', 'd', 'e'])
      expect(ids(store, q1)).toEqual([1, 2])
    })

    it('flush() commits what is queued', async () => {
      let store = open()
      store.addMessage(message(1), [q1])
      store.saveExchange(exA)
      let committed = false
      store.whenCommitted(() => (committed = true))
      await store.flush()
      expect(committed).toBe(true)
      await store.flush() // nothing queued: resolves anyway
      if (persists()) {
        store = await cycle(store)
        expect(ids(store, q1)).toEqual([1])
        expect(store.loadDefinitions().exchanges).toEqual([exA])
      }
    })

    it('reports a clean shutdown after close()', async () => {
      let store = open()
      store.addMessage(message(1), [q1])
      store = await cycle(store)
      expect(store.previousShutdownWasClean).toBe(true)
      expect(store.readMessages(q1, 0, 10).map((m) => m.redelivered)).toEqual([false])
      store = await cycle(store)
      expect(store.previousShutdownWasClean).toBe(true)
    })

    it('refuses to be used after close()', async () => {
      const store = open()
      await store.close()
      await store.close() // twice is fine
      expect(() => store.addMessage(message(1), [q1])).toThrow()
      expect(() => store.readMessages(q1, 0, 1)).toThrow()
    })

    it('rejects invalid message ids', () => {
      const store = open()
      expect(() => store.addMessage(message(0), [q1])).toThrow()
      expect(() => store.addMessage(message(1.5), [q1])).toThrow()
      expect(store.countMessages(q1)).toBe(0)
    })

    describe('scheduled messages (delayed-message exchanges)', () => {
      const due = (store: Store, after?: { dueAt: number; id: number }, limit = 1000, scope?: { vhost: string; exchange?: string }) =>
        store.readScheduled(after, limit, scope).map((m) => m.id)

      it('returns them in (dueAt, id) order across committed and queued writes, in pages', async () => {
        let store = open()
        store.addScheduled(scheduled(1, 3000))
        store.addScheduled(scheduled(2, 1000))
        store.addScheduled(scheduled(3, 2000))
        await store.flush()
        store.addScheduled(scheduled(4, 1000)) // same due time as 2: the id breaks the tie
        store.addScheduled(scheduled(5, 500))
        expect(due(store)).toEqual([5, 2, 4, 3, 1])
        expect(due(store, undefined, 2)).toEqual([5, 2])
        expect(due(store, { dueAt: 1000, id: 2 }, 2)).toEqual([4, 3])
        expect(due(store, { dueAt: 1000, id: 4 })).toEqual([3, 1])
        expect(due(store, { dueAt: 3000, id: 1 })).toEqual([])
        expect(store.getScheduled(4)).toEqual(scheduled(4, 1000))
        expect(store.getScheduled(1)).toEqual(scheduled(1, 3000))
        expect(store.getScheduled(99)).toBeUndefined()
        expect(store.countScheduled('/', 'dx')).toBe(5)
        expect(store.lastMessageId).toBe(5)
        store = await cycle(store)
        expect(store.readScheduled(undefined, 10)).toEqual([5, 2, 4, 3, 1].map((id) => scheduled(id, [3000, 1000, 2000, 1000, 500][id - 1])))
        expect(store.countScheduled('/', 'dx')).toBe(5)
        expect(store.lastMessageId).toBe(5)
      })

      it('removes them, committed or still queued, and counts exactly', async () => {
        let store = open()
        for (let id = 1; id <= 4; id++) store.addScheduled(scheduled(id, id * 100))
        await store.flush()
        expect(store.removeScheduled(2)).toBe(true)
        expect(store.removeScheduled(2)).toBe(false)
        store.addScheduled(scheduled(5, 50))
        expect(store.removeScheduled(5)).toBe(true) // added and removed in one batch: nothing reaches the disk
        expect(store.removeScheduled(42)).toBe(false)
        expect(due(store)).toEqual([1, 3, 4])
        expect(store.getScheduled(2)).toBeUndefined()
        expect(store.countScheduled('/', 'dx')).toBe(3)
        store = await cycle(store)
        expect(due(store)).toEqual([1, 3, 4])
        expect(store.countScheduled('/', 'dx')).toBe(3)
        expect(store.lastMessageId).toBe(5)
        for (const id of [1, 3, 4]) store.removeScheduled(id)
        expect(store.countScheduled('/', 'dx')).toBe(0)
        expect(store.scheduledExchanges()).toEqual([])
        store = await cycle(store)
        expect(due(store)).toEqual([])
      })

      it('moves them to a new due time', async () => {
        let store = open()
        for (let id = 1; id <= 3; id++) store.addScheduled(scheduled(id, id * 100))
        await store.flush()
        expect(store.rescheduleScheduled(1, 1000)).toBe(true)
        store.addScheduled(scheduled(4, 400))
        expect(store.rescheduleScheduled(4, 50)).toBe(true)
        expect(store.rescheduleScheduled(9, 50)).toBe(false)
        expect(due(store)).toEqual([4, 2, 3, 1])
        expect(store.getScheduled(1)?.dueAt).toBe(1000)
        store = await cycle(store)
        expect(due(store)).toEqual([4, 2, 3, 1])
        expect(store.getScheduled(1)).toEqual(scheduled(1, 1000))
        store.rescheduleScheduled(1, 10)
        store.removeScheduled(1)
        expect(due(store)).toEqual([4, 2, 3])
        store = await cycle(store)
        expect(due(store)).toEqual([4, 2, 3])
        expect(store.countScheduled('/', 'dx')).toBe(3)
      })

      it('reads, counts and drops per exchange and per vhost', async () => {
        let store = open()
        store.addScheduled(scheduled(1, 100))
        store.addScheduled(scheduled(2, 200, { exchange: 'other' }))
        store.addScheduled(scheduled(3, 300, { vhost: 'v2' }))
        await store.flush()
        store.addScheduled(scheduled(4, 50))
        store.addScheduled(scheduled(5, 60, { exchange: 'other' }))
        expect(due(store, undefined, 10, { vhost: '/', exchange: 'dx' })).toEqual([4, 1])
        expect(due(store, { dueAt: 50, id: 4 }, 10, { vhost: '/', exchange: 'dx' })).toEqual([1])
        expect(due(store, undefined, 10, { vhost: '/' })).toEqual([4, 5, 1, 2])
        expect(due(store, undefined, 10, { vhost: 'v2', exchange: 'dx' })).toEqual([3])
        expect(store.countScheduled('/')).toBe(4)
        expect(store.countScheduled('/', 'other')).toBe(2)
        const groups = (s: Store) => s.scheduledExchanges().sort((a, b) => (a.vhost + a.exchange < b.vhost + b.exchange ? -1 : 1))
        expect(groups(store)).toEqual([
          { vhost: '/', exchange: 'dx', count: 2 },
          { vhost: '/', exchange: 'other', count: 2 },
          { vhost: 'v2', exchange: 'dx', count: 1 },
        ])

        expect(store.dropScheduled('/', 'dx')).toBe(2)
        store.addScheduled(scheduled(6, 70)) // scheduled after the drop: kept
        expect(due(store)).toEqual([5, 6, 2, 3])
        expect(store.getScheduled(1)).toBeUndefined()
        expect(store.removeScheduled(1)).toBe(false)
        expect(store.countScheduled('/', 'dx')).toBe(1)
        store = await cycle(store)
        expect(due(store)).toEqual([5, 6, 2, 3])

        expect(store.dropScheduled('/')).toBe(3)
        expect(store.dropScheduled('/')).toBe(0)
        expect(due(store)).toEqual([3])
        store = await cycle(store)
        expect(due(store)).toEqual([3])
        expect(groups(store)).toEqual([{ vhost: 'v2', exchange: 'dx', count: 1 }])
      })

      it('rejects invalid ids', () => {
        const store = open()
        expect(() => store.addScheduled(scheduled(0, 1))).toThrow()
        expect(() => store.addScheduled(scheduled(2.5, 1))).toThrow()
        expect(store.countScheduled('/', 'dx')).toBe(0)
      })
    })
  })
}
