import { describe, it, expect } from 'vitest'
import { createRequire } from 'node:module'
import { METHODS, decodeBasicProperties, decodeMethod, encodeBasicProperties, encodeMethod, plainFieldValue, type FieldValue } from '../../../broker/protocol'
import { allProperties, sampleArgs } from './helpers'

// amqplib's own generated codec: a second, independent implementation of the spec to check ours against.
const defs = createRequire(import.meta.url)('amqplib/lib/defs') as {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer
  decode(id: number, buf: Buffer): Record<string, unknown>
  BasicProperties: number
}

const toAmqplib = (name: string): string => (name === 'noWait' ? 'nowait' : name)

/** amqplib decodes longstr as Buffer and tables with its own number types: compare plain values. */
function normalise(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const plain = plainFieldValue(v as FieldValue) as Record<string, unknown>
    return Object.fromEntries(Object.entries(plain).map(([k, x]) => [k, normalise(x)]))
  }
  if (Array.isArray(v)) return v.map(normalise)
  if (typeof v === 'bigint') return Number(v)
  return v
}

describe('interop with amqplib\'s codec', () => {
  for (const m of METHODS.filter((x) => !x.name.startsWith('connection.update-secret'))) {
    it(m.name, () => {
      const id = m.classId * 65536 + m.methodId
      // plain tables only: amqplib cannot encode our TypedValue
      const args = sampleArgs(m, 1) as Record<string, unknown>
      for (const f of m.fields) if (f.type === 'table') args[f.name] = { a: 1, b: 'x', c: [true, 2.5] }
      const ours = encodeMethod(m.name, args as never)
      const theirs = defs.decode(id, ours.subarray(4))
      for (const f of m.fields) {
        if (f.reserved) continue
        expect(normalise(theirs[toAmqplib(f.name)]), f.name).toEqual(normalise(args[f.name]))
      }
      const fields: Record<string, unknown> = {}
      for (const f of m.fields) {
        if (f.reserved) continue
        const v = args[f.name]
        fields[toAmqplib(f.name)] = f.type === 'longstr' && typeof v === 'string' ? Buffer.from(v) : v
      }
      const frame = defs.encodeMethod(id, 1, fields)
      const back = decodeMethod(frame.subarray(7, -1))
      expect(back.name).toBe(m.name)
      for (const f of m.fields) {
        if (f.reserved) continue
        expect(normalise((back.args as Record<string, unknown>)[f.name]), f.name).toEqual(normalise(args[f.name]))
      }
    })
  }

  it('basic properties', () => {
    const p = allProperties() as Record<string, unknown>
    p.headers = { a: 1, s: 'x' }
    const frame = defs.encodeProperties(defs.BasicProperties, 1, 0, p)
    const props = frame.subarray(7 + 12, -1)
    expect(normalise(decodeBasicProperties(props))).toEqual(normalise(p))
    const theirs = defs.decode(defs.BasicProperties, encodeBasicProperties(p as never))
    for (const k of Object.keys(p)) expect(normalise(theirs[k]), k).toEqual(normalise(p[k]))
  })
})
