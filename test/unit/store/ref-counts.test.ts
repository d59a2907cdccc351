import { describe, expect, it } from 'vitest'
import { RefCounts } from '../../../broker/store/sqlite/ref-counts'

describe('RefCounts (SQLite store: entries per message)', () => {
  for (const [name, ids] of [
    ['dense ids', [5, 6, 7, 9, 6, 7, 7]],
    ['sparse ids', [5, 6, 7, 9, 6, 7, 7, 1_000_000_000]],
  ] as const) {
    it(`counts, updates and forgets ${name}, and takes new ids beyond those loaded`, () => {
      const counts = new RefCounts()
      counts.load([...ids])
      expect([5, 6, 7, 8, 9].map((id) => counts.get(id))).toEqual([1, 2, 3, undefined, 1])
      expect(counts.has(8)).toBe(false)
      expect(counts.has(4)).toBe(false)
      counts.set(7, 2)
      counts.delete(5)
      expect(counts.get(7)).toBe(2)
      expect(counts.has(5)).toBe(false)
      counts.set(2_000_000_000, 3)
      counts.set(1, 1)
      expect(counts.get(2_000_000_000)).toBe(3)
      expect(counts.get(1)).toBe(1)
      counts.delete(2_000_000_000)
      expect(counts.has(2_000_000_000)).toBe(false)
    })
  }

  it('loads nothing from an empty database', () => {
    const counts = new RefCounts()
    counts.load([])
    expect(counts.has(1)).toBe(false)
    counts.set(1, 1)
    expect(counts.get(1)).toBe(1)
  })
})
