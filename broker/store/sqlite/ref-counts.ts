/**
 * How many queue entries each stored message has (its body goes with the last one). A restart with a long queue must
 * not spend seconds here: the ids found at open are read with one index scan (no GROUP BY, which sorts every entry in
 * a temporary b-tree) into a typed array over their id span when they are dense (the usual case: 4 bytes per id),
 * else into a Map; messages added later go to the Map.
 */
export class RefCounts {
  private base = 0
  private dense = new Uint32Array(0)
  private readonly sparse = new Map<number, number>()

  /** Loads the message id of every queue entry found at open (an id appears once per queue holding it). */
  load(ids: number[]): void {
    if (ids.length === 0) return
    let min = Infinity
    let max = -Infinity
    for (const id of ids) {
      if (id < min) min = id
      if (id > max) max = id
    }
    const span = max - min + 1
    if (span <= Math.max(1024, 4 * ids.length)) {
      this.base = min
      this.dense = new Uint32Array(span)
      for (const id of ids) this.dense[id - min]++
    } else {
      for (const id of ids) this.sparse.set(id, (this.sparse.get(id) ?? 0) + 1)
    }
  }

  private inDense(id: number): boolean {
    return id >= this.base && id - this.base < this.dense.length
  }

  has(id: number): boolean {
    return this.inDense(id) ? this.dense[id - this.base] > 0 : this.sparse.has(id)
  }

  get(id: number): number | undefined {
    if (!this.inDense(id)) return this.sparse.get(id)
    const n = this.dense[id - this.base]
    return n > 0 ? n : undefined
  }

  set(id: number, n: number): void {
    if (this.inDense(id)) this.dense[id - this.base] = n
    else this.sparse.set(id, n)
  }

  delete(id: number): void {
    if (this.inDense(id)) this.dense[id - this.base] = 0
    else this.sparse.delete(id)
  }
}
