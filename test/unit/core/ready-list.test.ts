import { describe, expect, it } from 'vitest'
import type { QueueEntry } from '../../../broker/core/message'
import { FifoReadyList, PriorityReadyList } from '../../../broker/core/ready-list'

const entry = (id: number, priority?: number): QueueEntry => ({ message: { id, properties: { priority } } as never, redelivered: false, stored: false })
const ids = (list: Iterable<QueueEntry>) => [...list].map((e) => e.message.id)

describe('FifoReadyList', () => {
  it('keeps order and restores requeued entries to their original place', () => {
    const list = new FifoReadyList()
    for (let i = 1; i <= 5; i++) list.push(entry(i))
    const first = list.shift()!
    const second = list.shift()!
    const third = list.shift()!
    list.restore(second)
    list.restore(first)
    expect(ids(list)).toEqual([1, 2, 4, 5])
    list.restore(third)
    expect(ids(list)).toEqual([1, 2, 3, 4, 5])
    expect(list.length).toBe(5)
  })

  it('stays correct across compaction', () => {
    const list = new FifoReadyList()
    for (let i = 1; i <= 5000; i++) list.push(entry(i))
    for (let i = 1; i <= 3000; i++) expect(list.shift()!.message.id).toBe(i)
    list.restore(entry(10))
    expect(list.peek()!.message.id).toBe(10)
    expect(list.length).toBe(2001)
    expect(list.clear().length).toBe(2001)
    expect(list.shift()).toBeUndefined()
  })
})

describe('PriorityReadyList', () => {
  it('delivers higher priorities first, FIFO within one, capping at the maximum', () => {
    const list = new PriorityReadyList(5)
    list.push(entry(1, 0))
    list.push(entry(2, 9))
    list.push(entry(3, 5))
    list.push(entry(4))
    list.push(entry(5, 3))
    expect(ids(list)).toEqual([2, 3, 5, 1, 4])
    expect(list.shift()!.message.id).toBe(2)
    expect(list.length).toBe(4)
  })
})
