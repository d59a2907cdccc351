// Queue paging (broker/core/paging.ts) over real stores: the memory store with an explicit window, and SQLite (also
// with a batch that is not committed while the test runs, so pages are read back from pending writes).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { BrokerCore } from '../../../broker/core/broker'
import type { QueueEntry } from '../../../broker/core/message'
import { PagedReadyList } from '../../../broker/core/paging'
import type { Consumer, Queue } from '../../../broker/core/queue'
import type { Actor, Vhost } from '../../../broker/core/vhost'
import { MemoryAccount } from '../../../broker/core/memory'
import { encodeBasicProperties, type BasicProperties, type FieldTable } from '../../../broker/protocol'
import { createMemoryStore, openSqliteStore, type Store } from '../../../broker/store'

const WINDOW = 10
const dirs: string[] = []
const opened: Store[] = []

afterEach(async () => {
  for (const store of opened.splice(0)) await store.close().catch(() => {})
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** A store whose readMessages calls and rows are counted (evidence of what recovery and paging read). */
function counted(store: Store): Store & { reads: { calls: number; rows: number } } {
  const reads = { calls: 0, rows: 0 }
  return new Proxy(store, {
    get(target, key) {
      if (key === 'reads') return reads
      const value = Reflect.get(target, key, target) as unknown
      if (key === 'readMessages') {
        return (...args: Parameters<Store['readMessages']>) => {
          const rows = target.readMessages(...args)
          reads.calls++
          reads.rows += rows.length
          return rows
        }
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value
    },
  }) as Store & { reads: { calls: number; rows: number } }
}

interface Kind {
  name: string
  open(dir?: string): Store
  persists: boolean
}

const kinds: Kind[] = [
  { name: 'memory store', open: () => createMemoryStore(), persists: false },
  {
    name: 'sqlite store',
    open: (dir) => openSqliteStore({ directory: dir ?? newDir() }),
    persists: true,
  },
  {
    // nothing is committed while the test runs: every page comes back from the store's pending batch
    name: 'sqlite store, batch not committed',
    open: (dir) => openSqliteStore({ directory: dir ?? newDir(), batchDelayMs: 600_000 }),
    persists: true,
  },
]

function newDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-paging-'))
  dirs.push(dir)
  return dir
}

function brokerOn(store: Store, window = WINDOW) {
  const core = new BrokerCore({ store, memoryHighWatermark: 1e12, paging: { windowCount: window, windowBytes: 1e9 } })
  const vhost = core.vhosts.get('/')!
  const actor: Actor = { user: 'guest', permission: core.permission('guest', '/') }
  return { core, vhost, actor }
}

function declare(vhost: Vhost, actor: Actor, name: string, args: FieldTable = {}, durable = true): Queue {
  return vhost.declareQueue(actor, { name, durable, exclusive: false, autoDelete: false, arguments: args })
}

let seq = 0
function publish(vhost: Vhost, queue: string, options: { persistent?: boolean; properties?: BasicProperties; size?: number } = {}): string {
  const label = `m${++seq}`
  const properties: BasicProperties = { deliveryMode: options.persistent === false ? 1 : 2, messageId: label, ...options.properties }
  const body = Buffer.alloc(options.size ?? 100, label)
  body.write(label)
  vhost.publish(undefined, { exchange: '', routingKey: queue, properties, encodedProperties: encodeBasicProperties(properties), body })
  return label
}

const label = (entry: QueueEntry | undefined) => entry?.message.properties.messageId

function drain(queue: Queue, ack = true): string[] {
  const out: string[] = []
  for (let entry = queue.take(false); entry; entry = queue.take(false)) {
    out.push(label(entry)!)
    if (ack) queue.settle(entry)
  }
  return out
}

/** A consumer with a prefetch: holds deliveries until the test acks them. */
class TestConsumer implements Consumer {
  readonly noAck = false
  readonly exclusive = false
  readonly held: QueueEntry[] = []
  readonly seen: string[] = []
  constructor(
    readonly tag: string,
    private readonly prefetch: number,
  ) {}
  canAccept(): boolean {
    return this.held.length < this.prefetch
  }
  deliver(_queue: Queue, entry: QueueEntry): void {
    this.held.push(entry)
    this.seen.push(label(entry)!)
  }
  cancelledByServer(): void {}
  ackAll(queue: Queue): void {
    for (const entry of this.held.splice(0)) queue.settle(entry)
    queue.dispatch()
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

for (const kind of kinds) {
  describe(`queue paging, ${kind.name}`, () => {
    function setup(window = WINDOW) {
      const store = counted(kind.open())
      opened.push(store)
      return { store, ...brokerOn(store, window) }
    }

    it('holds only the window in memory and delivers in order across page boundaries', () => {
      const { store, core, vhost, actor } = setup()
      const queue = declare(vhost, actor, 'q')
      const sent = Array.from({ length: 95 }, () => publish(vhost, 'q', { size: 1000 }))
      expect(queue.messageCount).toBe(95)
      expect(queue.messageBytes).toBe(95 * 1000)
      expect(queue.paging!.inMemory).toBe(WINDOW)
      expect(core.memory.used).toBe(WINDOW * 1000)
      expect(store.countMessages(queue.ref)).toBe(95)
      const got: string[] = []
      for (let entry = queue.take(false); entry; entry = queue.take(false)) {
        got.push(label(entry)!)
        expect(entry.redelivered).toBe(false)
        queue.settle(entry)
        expect(queue.paging!.inMemory).toBeLessThanOrEqual(WINDOW)
      }
      expect(got).toEqual(sent)
      expect(queue.messageCount).toBe(0)
      expect(queue.messageBytes).toBe(0)
      expect(core.memory.used).toBe(0)
      expect(store.countMessages(queue.ref)).toBe(0)
      // read back page by page, never the whole queue at once
      expect(queue.paging!.pageReads).toBeGreaterThanOrEqual(Math.ceil(85 / WINDOW))
      expect(store.reads.rows).toBe(85)
    })

    it('hands pages to consumers with a prefetch, in order, with no loss and no duplicates', () => {
      const { vhost, actor } = setup()
      const queue = declare(vhost, actor, 'q')
      const sent = Array.from({ length: 60 }, () => publish(vhost, 'q'))
      const consumer = new TestConsumer('c1', 7)
      queue.addConsumer(consumer)
      while (consumer.held.length > 0) consumer.ackAll(queue)
      expect(consumer.seen).toEqual(sent)
      expect(queue.messageCount).toBe(0)
    })

    it('keeps a transient message and everything after it in a tail behind the paged region', () => {
      const { core, vhost, actor } = setup()
      const queue = declare(vhost, actor, 'q')
      const sent = Array.from({ length: 30 }, () => publish(vhost, 'q'))
      sent.push(publish(vhost, 'q', { persistent: false }))
      for (let i = 0; i < 10; i++) sent.push(publish(vhost, 'q'))
      expect(queue.messageCount).toBe(41)
      expect(queue.paging!.paged.count).toBe(20)
      expect(queue.paging!.inMemory).toBe(21)
      expect(core.memory.used).toBe(21 * 100)
      expect(drain(queue)).toEqual(sent)
      // once the region drained, arrivals page out again
      const again = Array.from({ length: 30 }, () => publish(vhost, 'q'))
      expect(queue.paging!.paged.count).toBe(20)
      expect(drain(queue)).toEqual(again)
    })

    it('requeues delivered messages to their place before the paged region, marked redelivered', () => {
      const { vhost, actor } = setup()
      const queue = declare(vhost, actor, 'q')
      const sent = Array.from({ length: 40 }, () => publish(vhost, 'q'))
      const taken = [queue.take(false)!, queue.take(false)!, queue.take(false)!]
      const more = Array.from({ length: 12 }, () => queue.take(false)!) // crosses into the first page read back
      queue.requeue([...more, ...taken].reverse())
      expect(queue.messageCount).toBe(40)
      const order: Array<[string, boolean]> = []
      for (let entry = queue.take(false); entry; entry = queue.take(false)) {
        order.push([label(entry)!, entry.redelivered])
        queue.settle(entry)
      }
      expect(order.map(([l]) => l)).toEqual(sent)
      expect(order.map(([, r]) => r)).toEqual(sent.map((_, i) => i < 15))
    })

    it('expires paged messages by the time they entered the queue, dead-lettering them', async () => {
      const { store, vhost, actor } = setup()
      declare(vhost, actor, 'dlq')
      const queue = declare(vhost, actor, 'q', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' })
      const sent = Array.from({ length: 35 }, () => publish(vhost, 'q', { properties: { expiration: '150' } }))
      expect(queue.paging!.paged.count).toBe(25)
      // a deadline counted from when a page is read back would keep the later pages alive past 150 ms
      await sleep(400)
      expect(queue.messageCount).toBe(0)
      expect(store.countMessages(queue.ref)).toBe(0)
      const dlq = vhost.getQueue('dlq')
      expect(dlq.messageCount).toBe(35)
      expect(drain(dlq).length).toBe(35)
      expect(sent.length).toBe(35)
    })

    it('applies queue TTL at the head across pages', async () => {
      const { vhost, actor } = setup()
      const queue = declare(vhost, actor, 'q', { 'x-message-ttl': 100 })
      for (let i = 0; i < 30; i++) publish(vhost, 'q')
      await sleep(150)
      const late = Array.from({ length: 15 }, () => publish(vhost, 'q'))
      expect(drain(queue)).toEqual(late)
    })

    it('enforces x-max-length (drop-head and reject-publish) and x-max-length-bytes with a paged region', () => {
      const { store, vhost, actor } = setup()
      const dropHead = declare(vhost, actor, 'drop', { 'x-max-length': 25 })
      const sent = Array.from({ length: 40 }, () => publish(vhost, 'drop'))
      expect(dropHead.messageCount).toBe(25)
      expect(store.countMessages(dropHead.ref)).toBe(25)
      expect(drain(dropHead)).toEqual(sent.slice(15))

      const reject = declare(vhost, actor, 'reject', { 'x-max-length': 25, 'x-overflow': 'reject-publish' })
      const offered = Array.from({ length: 40 }, () => publish(vhost, 'reject'))
      expect(reject.messageCount).toBe(25)
      expect(drain(reject)).toEqual(offered.slice(0, 25))

      const bytes = declare(vhost, actor, 'bytes', { 'x-max-length-bytes': 2000 })
      const big = Array.from({ length: 40 }, () => publish(vhost, 'bytes', { size: 100 }))
      expect(bytes.messageCount).toBe(20)
      expect(bytes.messageBytes).toBe(2000)
      expect(drain(bytes)).toEqual(big.slice(20))
    })

    it('purges the paged region with one store call and keeps unacked messages', () => {
      const { store, core, vhost, actor } = setup()
      const queue = declare(vhost, actor, 'q')
      for (let i = 0; i < 100; i++) publish(vhost, 'q')
      const unacked = [queue.take(false)!, queue.take(false)!, queue.take(false)!]
      let removeCalls = 0
      const original = store.removeMessage.bind(store)
      const spy = store as { removeMessage: Store['removeMessage'] }
      spy.removeMessage = (ref, id) => {
        removeCalls++
        original(ref, id)
      }
      expect(vhost.purgeQueue(actor, 'q')).toBe(97)
      // the in-memory window one by one, the paged region in one call
      expect(removeCalls).toBeLessThanOrEqual(WINDOW)
      expect(queue.messageCount).toBe(0)
      expect(queue.messageBytes).toBe(0)
      expect(store.countMessages(queue.ref)).toBe(3)
      expect(core.memory.used).toBe(300)
      queue.requeue(unacked)
      expect(drain(queue).length).toBe(3)
      expect(store.countMessages(queue.ref)).toBe(0)
      const after = Array.from({ length: 25 }, () => publish(vhost, 'q'))
      expect(drain(queue)).toEqual(after)
    })

    it('deletes a queue with a paged region', () => {
      const { store, core, vhost, actor } = setup()
      const queue = declare(vhost, actor, 'q')
      for (let i = 0; i < 100; i++) publish(vhost, 'q')
      expect(vhost.deleteQueue(actor, 'q')).toBe(100)
      expect(store.countMessages(queue.ref)).toBe(0)
      expect(core.memory.used).toBe(0)
    })

    it('browses across the boundary without changing the queue', () => {
      const { core, vhost, actor } = setup()
      const queue = declare(vhost, actor, 'q')
      const sent = Array.from({ length: 50 }, () => publish(vhost, 'q'))
      const before = { count: queue.messageCount, memory: core.memory.used, inMemory: queue.paging!.inMemory }
      expect(queue.browse(5, 10).map(label)).toEqual(sent.slice(5, 15))
      expect(queue.browse(30, 100).map(label)).toEqual(sent.slice(30))
      expect(queue.browse(0, 50).map(label)).toEqual(sent)
      expect({ count: queue.messageCount, memory: core.memory.used, inMemory: queue.paging!.inMemory }).toEqual(before)
      expect(drain(queue)).toEqual(sent)
    })

    it('does not page priority queues or non-durable queues', () => {
      const { core, vhost, actor } = setup()
      const priority = declare(vhost, actor, 'p', { 'x-max-priority': 5 })
      for (let i = 0; i < 30; i++) publish(vhost, 'p')
      expect(priority.paging).toBeUndefined()
      expect(core.memory.used).toBe(3000)
      const transientQueue = declare(vhost, actor, 't', {}, false)
      for (let i = 0; i < 30; i++) publish(vhost, 't')
      expect(transientQueue.paging!.paged.count).toBe(0)
      expect(core.memory.used).toBe(6000)
    })

    if (kind.persists) {
      it('recovers a long queue by reading one window and a summary, then delivers everything in order', async () => {
        const dir = newDir()
        const first = kind.open(dir)
        const { vhost, actor } = brokerOn(first)
        declare(vhost, actor, 'q')
        const sent = Array.from({ length: 250 }, () => publish(vhost, 'q'))
        await first.close()

        const store = counted(openSqliteStore({ directory: dir }))
        opened.push(store)
        const { core, vhost: again } = brokerOn(store)
        const queue = again.getQueue('q')
        // recovery read only the first window; the rest is counted, not read
        expect(store.reads.rows).toBe(WINDOW)
        expect(queue.messageCount).toBe(250)
        expect(queue.paging!.inMemory).toBe(WINDOW)
        expect(core.memory.used).toBe(WINDOW * 100)
        expect(queue.messageBytes).toBe(250 * 100)
        const got: Array<[string, boolean]> = []
        for (let entry = queue.take(false); entry; entry = queue.take(false)) {
          got.push([label(entry)!, entry.redelivered])
          queue.settle(entry)
        }
        expect(got.map(([l]) => l)).toEqual(sent)
        // a clean shutdown: nothing was delivered before, so nothing is redelivered
        expect(got.every(([, r]) => !r)).toBe(true)
      })

      it('recovers within the byte window too, reading a small first chunk', async () => {
        const dir = newDir()
        const first = kind.open(dir)
        const { vhost, actor } = brokerOn(first)
        declare(vhost, actor, 'q')
        const sent = Array.from({ length: 300 }, () => publish(vhost, 'q', { size: 1000 }))
        await first.close()

        const store = counted(openSqliteStore({ directory: dir }))
        opened.push(store)
        const core = new BrokerCore({ store, memoryHighWatermark: 1e12, paging: { windowCount: 1000, windowBytes: 5000 } })
        const queue = core.vhosts.get('/')!.getQueue('q')
        expect(store.reads.rows).toBeLessThanOrEqual(64)
        expect(queue.paging!.inMemory).toBe(5)
        expect(core.memory.used).toBe(5000)
        expect(queue.messageCount).toBe(300)
        expect(drain(queue)).toEqual(sent)
      })

      it('keeps the redelivered flag of requeued messages across a clean restart', async () => {
        const dir = newDir()
        const first = kind.open(dir)
        const { core, vhost, actor } = brokerOn(first)
        const queue = declare(vhost, actor, 'q')
        const sent = Array.from({ length: 40 }, () => publish(vhost, 'q'))
        queue.requeue([queue.take(false)!, queue.take(false)!])
        core.persistDeliveryState()
        await first.close()

        const store = openSqliteStore({ directory: dir })
        opened.push(store)
        const recovered = brokerOn(store).vhost.getQueue('q')
        const got: Array<[string, boolean]> = []
        for (let entry = recovered.take(false); entry; entry = recovered.take(false)) got.push([label(entry)!, entry.redelivered])
        expect(got.map(([l]) => l)).toEqual(sent)
        expect(got.map(([, r]) => r)).toEqual(sent.map((_, i) => i < 2))
      })
    }
  })
}

describe('PagedReadyList', () => {
  it('counts a message requeued into the paged range back in, flagged delivered in the store', () => {
    // Not reachable through Queue (delivered messages come from the head), but kept correct: an unacked message whose
    // id lies inside the paged range is in the store and comes back in its place.
    const store = createMemoryStore()
    const ref = { vhost: '/', name: 'q' }
    const properties = encodeBasicProperties({ deliveryMode: 2 })
    for (let id = 1; id <= 10; id++) store.addMessage({ id, exchange: '', routingKey: 'q', properties, body: Buffer.from(`b${id}`) }, [ref])
    const memory = new MemoryAccount(1e9)
    const list = new PagedReadyList(store, ref, memory, { windowCount: 2, windowBytes: 1e9 }, (stored) => ({
      message: { id: stored.id, exchange: '', routingKey: 'q', properties: {}, encodedProperties: stored.properties, body: stored.body, persistent: true },
      redelivered: stored.redelivered,
      stored: true,
    }))
    const entry = (id: number): QueueEntry => ({ message: { id, exchange: '', routingKey: 'q', properties: {}, encodedProperties: properties, body: Buffer.from(`b${id}`), persistent: true }, redelivered: false, stored: true })
    list.push(entry(1))
    list.push(entry(2))
    // as if 5 were out with a consumer: the region counts 3, 4, 6..10
    list.recoverPaged({ count: 7, lastId: 10 }, 2)
    const five = entry(5)
    five.redelivered = true
    list.restore(five)
    expect(list.length).toBe(10)
    const order: Array<[number, boolean]> = []
    for (let e = list.shift(); e; e = list.shift()) order.push([e.message.id, e.redelivered])
    expect(order).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((id) => [id, id === 5]))
  })
})
