import { describe, it, expect } from 'vitest'
import {
  Decimal,
  ProtocolError,
  TypedValue,
  decodeFieldArray,
  decodeFieldTable,
  encodeFieldArray,
  encodeFieldTable,
  fieldTableSize,
  plainFieldValue,
  type FieldTable,
  type FieldValue,
} from '../../../broker/protocol'

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex')

/** A table holding the single entry "k" → value bytes (type octet + value). */
function oneEntry(valueBytes: string): Buffer {
  const v = hex(valueBytes)
  const body = Buffer.concat([Buffer.from([1, 0x6b]), v])
  const len = Buffer.alloc(4)
  len.writeUInt32BE(body.length)
  return Buffer.concat([len, body])
}

function expectProtocolError(fn: () => unknown, code: number): void {
  try {
    fn()
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError)
    expect((e as ProtocolError).replyCode).toBe(code)
    return
  }
  throw new Error('expected a ProtocolError')
}

// [description, wire bytes of the value (type octet first), decoded value]
const VECTORS: [string, string, FieldValue][] = [
  ['t true', '74 01', true],
  ['t false', '74 00', false],
  ['t other octet', '74 07', new TypedValue('t', 7)],
  ['b int8', '62 ff', new TypedValue('b', -1)],
  ['b int8 max', '62 7f', new TypedValue('b', 127)],
  ['B uint8', '42 ff', new TypedValue('B', 255)],
  ['s int16', '73 ff fe', new TypedValue('s', -2)],
  ['u uint16', '75 ff fe', new TypedValue('u', 65534)],
  ['I int32', '49 ff ff ff fe', -2],
  ['I int32 max', '49 7f ff ff ff', 2147483647],
  ['i uint32', '69 ff ff ff fe', new TypedValue('i', 4294967294)],
  ['l int64 beyond int32', '6c 00 00 00 01 00 00 00 00', 4294967296],
  ['l int64 negative beyond int32', '6c ff ff ff fe 00 00 00 00', -8589934592],
  ['l int64 max safe', '6c 00 1f ff ff ff ff ff ff', Number.MAX_SAFE_INTEGER],
  ['l int64 within int32', '6c 00 00 00 00 00 00 00 05', new TypedValue('l', 5)],
  ['l int64 -1', '6c ff ff ff ff ff ff ff ff', new TypedValue('l', -1)],
  ['l int64 max', '6c 7f ff ff ff ff ff ff ff', 9223372036854775807n],
  ['l int64 min', '6c 80 00 00 00 00 00 00 00', -9223372036854775808n],
  ['l int64 2^53', '6c 00 20 00 00 00 00 00 00', 9007199254740992n],
  ['f float', '66 3f c0 00 00', new TypedValue('f', 1.5)],
  ['d double', '64 3f f8 00 00 00 00 00 00', 1.5],
  ['d double integral', '64 40 00 00 00 00 00 00 00', new TypedValue('d', 2)],
  ['d double -0', '64 80 00 00 00 00 00 00 00', -0],
  ['d double 2^60', '64 43 b0 00 00 00 00 00 00', 2 ** 60],
  ['d double infinity', '64 7f f0 00 00 00 00 00 00', Infinity],
  ['D decimal', '44 02 00 00 30 39', new Decimal(2, 12345)],
  ['S string', '53 00 00 00 02 68 69', 'hi'],
  ['S empty', '53 00 00 00 00', ''],
  ['S utf-8', '53 00 00 00 03 e2 9c 93', '✓'],
  ['S with BOM', '53 00 00 00 04 ef bb bf 41', '\ufeffA'],
  ['S not utf-8', '53 00 00 00 02 ff 41', new TypedValue('S', hex('ff 41'))],
  ['S overlong', '53 00 00 00 02 c0 af', new TypedValue('S', hex('c0 af'))],
  ['x bytes', '78 00 00 00 03 00 01 ff', hex('00 01 ff')],
  ['x empty', '78 00 00 00 00', Buffer.alloc(0)],
  ['A array', '41 00 00 00 07 49 00 00 00 01 74 01', [1, true]],
  ['A empty', '41 00 00 00 00', []],
  ['A nested', '41 00 00 00 0c 41 00 00 00 02 74 00 53 00 00 00 00', [[false], '']],
  ['T timestamp', '54 00 00 00 00 5f 5e 10 00', new Date(1600000000 * 1000)],
  ['T timestamp zero', '54 00 00 00 00 00 00 00 00', new Date(0)],
  ['T beyond Date', '54 00 1f ff ff ff ff ff ff', new TypedValue('T', Number.MAX_SAFE_INTEGER)],
  ['T beyond 2^53', '54 ff ff ff ff ff ff ff ff', new TypedValue('T', 18446744073709551615n)],
  ['F table', '46 00 00 00 07 01 78 49 00 00 00 01', { x: 1 }],
  ['F empty', '46 00 00 00 00', {}],
  ['V void', '56', null],
]

describe('field table value types', () => {
  for (const [name, bytes, value] of VECTORS) {
    it(`${name}: decodes, encodes and round trips exactly`, () => {
      const wire = oneEntry(bytes)
      const decoded = decodeFieldTable(wire, 0)
      expect(decoded.offset).toBe(wire.length)
      expect(decoded.value).toStrictEqual({ k: value })
      if (typeof value === 'number' && Object.is(value, -0)) expect(Object.is(decoded.value.k, -0)).toBe(true)
      expect(encodeFieldTable({ k: value }).toString('hex')).toBe(wire.toString('hex'))
      expect(encodeFieldTable(decoded.value).toString('hex')).toBe(wire.toString('hex'))
      expect(fieldTableSize({ k: value })).toBe(wire.length)
    })
  }

  it('canonical encoding of plain JS values', () => {
    const cases: [FieldValue | undefined, string][] = [
      [true, '74 01'],
      [0, '49 00 00 00 00'],
      [-2147483648, '49 80 00 00 00'],
      [2147483648, '6c 00 00 00 00 80 00 00 00'],
      [-(2 ** 40), '6c ff ff ff 00 00 00 00 00'],
      [0.5, '64 3f e0 00 00 00 00 00 00'],
      [2 ** 53, '64 43 40 00 00 00 00 00 00'],
      [NaN, '64 7f f8 00 00 00 00 00 00'],
      [5n, '6c 00 00 00 00 00 00 00 05'],
      ['é', '53 00 00 00 02 c3 a9'],
      [new Uint8Array([1, 2]) as Buffer, '78 00 00 00 02 01 02'],
      [new Date(1500), '54 00 00 00 00 00 00 00 01'],
      [undefined, '56'],
      [null, '56'],
      [new Decimal(1, 5), '44 01 00 00 00 05'],
      [new TypedValue('x', hex('aa')), '78 00 00 00 01 aa'],
      [new TypedValue('S', 'a'), '53 00 00 00 01 61'],
      [new TypedValue('T', new Date(2000)), '54 00 00 00 00 00 00 00 02'],
      [new TypedValue('A', [new TypedValue('B', 1)]), '41 00 00 00 02 42 01'],
      [new TypedValue('F', {}), '46 00 00 00 00'],
      [new TypedValue('V', null), '56'],
      [new TypedValue('l', 2n ** 40n), '6c 00 00 01 00 00 00 00 00'],
    ]
    for (const [value, bytes] of cases) {
      expect(encodeFieldTable({ k: value as FieldValue }).toString('hex'), String(value)).toBe(oneEntry(bytes).toString('hex'))
    }
  })

  it('a table with every type round trips byte for byte', () => {
    const table: FieldTable = {}
    VECTORS.forEach(([, , value], i) => {
      table[`key-${i}`] = value
    })
    Object.defineProperty(table, '__proto__', { value: 'not a prototype', enumerable: true, writable: true, configurable: true })
    const wire = encodeFieldTable(table)
    const back = decodeFieldTable(wire, 0).value
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype)
    expect(Object.keys(back)).toEqual(Object.keys(table))
    expect(Object.keys(back)).toContain('__proto__')
    expect(encodeFieldTable(back).equals(wire)).toBe(true)
    expect(decodeFieldTable(Buffer.concat([hex('ff ff'), wire]), 2)).toEqual({ value: back, offset: wire.length + 2 })
  })

  it('field arrays', () => {
    const arr: FieldValue[] = [1, 'a', null, [true], { x: 2n }, new TypedValue('u', 7)]
    const wire = encodeFieldArray(arr)
    expect(wire.readUInt32BE(0)).toBe(wire.length - 4)
    const back = decodeFieldArray(wire, 0)
    expect(back.offset).toBe(wire.length)
    expect(back.value).toStrictEqual([1, 'a', null, [true], { x: new TypedValue('l', 2) }, new TypedValue('u', 7)])
    expect(encodeFieldArray(back.value).equals(wire)).toBe(true)
  })

  it('empty table', () => {
    expect(encodeFieldTable({}).toString('hex')).toBe('00000000')
    expect(decodeFieldTable(hex('00000000'), 0)).toEqual({ value: {}, offset: 4 })
  })

  it('malformed tables throw ProtocolError 502', () => {
    const bad = [
      '00 00 00', // truncated length
      '00 00 00 09 01 6b 49 00 00', // length beyond the buffer
      '00 00 00 04 01 6b 49 00', // truncated I value
      '00 00 00 03 01 6b 5a', // unknown type Z
      '00 00 00 02 01 6b', // key without a value
      '00 00 00 02 05 6b', // key longer than the table
      '00 00 00 07 01 6b 53 00 00 00 09', // long string beyond the table
      '00 00 00 08 01 6b 41 00 00 00 05 56', // array length beyond the table
      '00 00 00 04 01 6b 46 00', // nested table length truncated
    ]
    for (const b of bad) expectProtocolError(() => decodeFieldTable(hex(b), 0), 502)
  })

  it('deep nesting is refused, not a stack overflow', () => {
    let wire = hex('00 00 00 00')
    for (let i = 0; i < 5000; i++) {
      const body = Buffer.concat([hex('01 6b 46'), wire])
      const len = Buffer.alloc(4)
      len.writeUInt32BE(body.length)
      wire = Buffer.concat([len, body])
    }
    expectProtocolError(() => decodeFieldTable(wire, 0), 502)
    const cyclic: FieldTable = {}
    cyclic.self = cyclic
    expect(() => encodeFieldTable(cyclic)).toThrow(RangeError)
  })

  it('encoding errors are programming errors', () => {
    expect(() => encodeFieldTable({ ['k'.repeat(256)]: 1 })).toThrow(RangeError)
    expect(() => encodeFieldTable({ k: new TypedValue('b', 300) })).toThrow(RangeError)
    expect(() => encodeFieldTable({ k: (() => 1) as unknown as FieldValue })).toThrow(TypeError)
  })

  it('plainFieldValue unwraps TypedValues recursively', () => {
    const wire = encodeFieldTable({
      b: new TypedValue('b', -3),
      l: new TypedValue('l', 5),
      big: new TypedValue('l', 2n ** 62n),
      f: new TypedValue('f', 0.5),
      t: new TypedValue('t', 9),
      s: new TypedValue('S', hex('68 ff')),
      nested: { deep: [new TypedValue('u', 1), { x: new TypedValue('i', 2) }] },
      a: new TypedValue('A', [new TypedValue('s', -1)]),
      plain: 'p',
    })
    const plain = plainFieldValue(decodeFieldTable(wire, 0).value)
    expect(plain).toStrictEqual({
      b: -3,
      l: 5,
      big: 2n ** 62n,
      f: 0.5,
      t: true,
      s: 'h\ufffd',
      nested: { deep: [1, { x: 2 }] },
      a: [-1],
      plain: 'p',
    })
    expect(plainFieldValue(undefined)).toBe(null)
    expect(plainFieldValue(7)).toBe(7)
  })
})
