/**
 * AMQP 0-9-1 field tables and field arrays, with every value type RabbitMQ accepts (RabbitMQ's "AMQP 0-9-1 errata"
 * table), plus the primitive readers/writers the generated method codec is built on.
 *
 * Representation (see FieldValue): plain JS values for the "canonical" wire type of each JS type, and TypedValue for
 * everything else, so that encode(decode(bytes)) gives the same bytes back. Canonical encoding of plain values:
 *   boolean → t, integer number within int32 → I, other safe integer → l, any other number (fractions, -0, NaN,
 *   ±Infinity, unsafe integers) → d, bigint → l, string → S (UTF-8), Buffer/Uint8Array → x, Date → T (whole seconds),
 *   array → A, plain object → F, null/undefined → V, Decimal → D.
 *
 * Exact byte round trip holds for every decodable table except: duplicate keys (the last one wins), keys that look
 * like array indices ("1", "2"...) and are not in ascending order on the wire (JS objects enumerate them first),
 * keys that are not valid UTF-8, and NaN payloads of f/d values.
 *
 * Decoded Buffers (x values, S values that are not UTF-8) are subarrays of the input: copy them to keep them
 * beyond the life of the frame they came from.
 *
 * Every decoding error is a ProtocolError: 502 SYNTAX_ERROR inside a table or array, 501 FRAME_ERROR for the
 * truncated primitive reads of Reader (method arguments, content headers). Encoding errors (a short string over
 * 255 bytes, an out-of-range TypedValue, a cyclic table...) are programming errors and throw RangeError/TypeError.
 */
import { isUtf8 } from 'node:buffer'
import { ProtocolError } from './errors'

// Reply codes used here (the generated file has them all; importing it would be a cycle).
const FRAME_ERROR = 501
const SYNTAX_ERROR = 502

/** Deepest nesting of tables/arrays accepted when decoding (and encoding): guards the stack against hostile input. */
export const MAX_FIELD_NESTING = 128

export type FieldType = 't' | 'b' | 'B' | 's' | 'u' | 'I' | 'i' | 'l' | 'f' | 'd' | 'D' | 'S' | 'x' | 'A' | 'T' | 'F' | 'V'

/** AMQP decimal: `value / 10 ** scale`, scale an octet, value an unsigned 32-bit integer (as on the wire). */
export class Decimal {
  constructor(
    readonly scale: number,
    readonly value: number,
  ) {}

  toNumber(): number {
    return this.value / 10 ** this.scale
  }
}

/** What a TypedValue of each wire type holds. */
export interface TypedValueMap {
  /** a number is a raw octet other than 0 and 1 (kept for the exact round trip) */
  t: boolean | number
  b: number
  B: number
  s: number
  u: number
  I: number
  i: number
  l: number | bigint
  f: number
  d: number
  D: Decimal
  /** a Buffer is a long string that is not valid UTF-8 */
  S: string | Buffer
  x: Buffer | Uint8Array
  A: FieldValue[]
  /** Date, or seconds since the epoch (number or bigint) for values a Date cannot hold */
  T: Date | number | bigint
  F: FieldTable
  V: null
}

/** A value with an explicit wire type, for values whose type is not the canonical one of their JS type. */
export class TypedValue<T extends FieldType = FieldType> {
  constructor(
    readonly type: T,
    readonly value: TypedValueMap[T],
  ) {}
}

export type FieldValue =
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Date
  | Decimal
  | FieldValue[]
  | FieldTable
  | null
  | TypedValue

export interface FieldTable {
  [key: string]: FieldValue
}

/** A FieldValue without TypedValue anywhere in it: what plainFieldValue returns. */
export type PlainFieldValue =
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Date
  | Decimal
  | PlainFieldValue[]
  | PlainFieldTable
  | null

export interface PlainFieldTable {
  [key: string]: PlainFieldValue
}

// wire type octets
const C_t = 0x74
const C_b = 0x62
const C_B = 0x42
const C_s = 0x73
const C_u = 0x75
const C_I = 0x49
const C_i = 0x69
const C_l = 0x6c
const C_f = 0x66
const C_d = 0x64
const C_D = 0x44
const C_S = 0x53
const C_x = 0x78
const C_A = 0x41
const C_T = 0x54
const C_F = 0x46
const C_V = 0x56

const TWO_32 = 4294967296
/** hi word bounds inside which hi * 2^32 + lo is exactly representable (|value| < 2^53) */
const SAFE_HI = 0x200000
/** Date's range, in seconds */
const MAX_DATE_SECONDS = 8.64e12

/** The wire type a plain JS number encodes to. */
function numberType(v: number): 'I' | 'l' | 'd' {
  if ((v | 0) === v && !(v === 0 && 1 / v < 0)) return 'I'
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) return 'l'
  return 'd'
}

/** The wire type a FieldValue encodes to (TypedValue: its own type). Throws TypeError for values with none. */
export function fieldValueType(v: FieldValue | undefined): FieldType {
  switch (typeof v) {
    case 'boolean':
      return 't'
    case 'number':
      return numberType(v)
    case 'bigint':
      return 'l'
    case 'string':
      return 'S'
    case 'undefined':
      return 'V'
    case 'object':
      if (v === null) return 'V'
      if (v instanceof TypedValue) return v.type
      if (v instanceof Uint8Array) return 'x'
      if (Array.isArray(v)) return 'A'
      if (v instanceof Date) return 'T'
      if (v instanceof Decimal) return 'D'
      return 'F'
    default:
      throw new TypeError(`cannot encode a ${typeof v} in an AMQP field table`)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// primitive writers: each returns the offset after what it wrote; sizes are computed beforehand by the *Size
// functions, which also validate, so the buffer is always exactly big enough.

export function shortstrSize(s: string): number {
  const n = Buffer.byteLength(s, 'utf8')
  if (n > 255) throw new RangeError(`short string too long (${n} bytes, at most 255): ${s.slice(0, 40)}...`)
  return 1 + n
}

export function writeShortstr(buf: Buffer, off: number, s: string): number {
  const n = s.length === 0 ? 0 : buf.write(s, off + 1, 'utf8')
  buf[off] = n
  return off + 1 + n
}

export function longstrSize(s: string): number {
  return 4 + Buffer.byteLength(s, 'utf8')
}

export function writeLongstr(buf: Buffer, off: number, s: string): number {
  const n = s.length === 0 ? 0 : buf.write(s, off + 4, 'utf8')
  buf.writeUInt32BE(n, off)
  return off + 4 + n
}

export function writeLongstrBuffer(buf: Buffer, off: number, b: Uint8Array): number {
  buf.writeUInt32BE(b.length, off)
  buf.set(b, off + 4)
  return off + 4 + b.length
}

/**
 * Unsigned 64-bit from a non-negative integer number (delivery tags, timestamps, body sizes): exact up to 2^53, and
 * accepted up to 2^64 so that whatever Reader.longlong() decoded can be written back.
 */
export function writeLonglong(buf: Buffer, off: number, v: number): number {
  if (!(v >= 0 && v < 18446744073709551616) || Math.floor(v) !== v) {
    throw new RangeError(`not an unsigned 64-bit integer: ${v}`)
  }
  const hi = Math.floor(v / TWO_32)
  buf.writeUInt32BE(hi, off)
  buf.writeUInt32BE(v - hi * TWO_32, off + 4)
  return off + 8
}

function writeInt64(buf: Buffer, off: number, v: number | bigint): number {
  if (typeof v === 'bigint') {
    buf.writeBigInt64BE(v, off)
    return off + 8
  }
  if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer for int64: ${v}`)
  const hi = Math.floor(v / TWO_32)
  buf.writeInt32BE(hi, off)
  buf.writeUInt32BE(v - hi * TWO_32, off + 4)
  return off + 8
}

function writeUint64(buf: Buffer, off: number, v: number | bigint): number {
  if (typeof v === 'bigint') {
    buf.writeBigUInt64BE(v, off)
    return off + 8
  }
  return writeLonglong(buf, off, v)
}

function dateSeconds(d: Date): number {
  const ms = d.getTime()
  if (!(ms >= 0)) throw new RangeError(`cannot encode date ${String(d)} as an AMQP timestamp`)
  return Math.floor(ms / 1000)
}

// ---------------------------------------------------------------------------------------------------------------
// field table / array encoding

function tooDeep(): never {
  throw new RangeError(`field table nested deeper than ${MAX_FIELD_NESTING} levels (cyclic?)`)
}

/** Bytes a value takes, including its type octet. */
function valueSize(v: FieldValue | undefined, depth: number): number {
  switch (typeof v) {
    case 'boolean':
      return 2
    case 'number':
      return numberType(v) === 'I' ? 5 : 9
    case 'bigint':
      return 9
    case 'string':
      return 5 + Buffer.byteLength(v, 'utf8')
    case 'undefined':
      return 1
    case 'object':
      if (v === null) return 1
      if (v instanceof TypedValue) return typedSize(v, depth)
      if (v instanceof Uint8Array) return 5 + v.length
      if (Array.isArray(v)) return 1 + arraySize(v, depth + 1)
      if (v instanceof Date) return 9
      if (v instanceof Decimal) return 6
      return 1 + tableSize(v, depth + 1)
    default:
      throw new TypeError(`cannot encode a ${typeof v} in an AMQP field table`)
  }
}

function typedSize(tv: TypedValue, depth: number): number {
  const v = tv.value
  switch (tv.type) {
    case 't':
    case 'b':
    case 'B':
      return 2
    case 's':
    case 'u':
      return 3
    case 'I':
    case 'i':
    case 'f':
      return 5
    case 'l':
    case 'd':
    case 'T':
      return 9
    case 'D':
      return 6
    case 'S':
      return 5 + (typeof v === 'string' ? Buffer.byteLength(v, 'utf8') : (v as Uint8Array).length)
    case 'x':
      return 5 + (v as Uint8Array).length
    case 'A':
      return 1 + arraySize(v as FieldValue[], depth + 1)
    case 'F':
      return 1 + tableSize(v as FieldTable, depth + 1)
    case 'V':
      return 1
    default:
      throw new TypeError(`unknown field type ${JSON.stringify(tv.type)}`)
  }
}

function tableSize(t: FieldTable, depth: number): number {
  if (depth > MAX_FIELD_NESTING) tooDeep()
  let n = 4
  for (const k in t) {
    if (!Object.prototype.hasOwnProperty.call(t, k)) continue
    n += shortstrSize(k) + valueSize(t[k], depth)
  }
  return n
}

function arraySize(a: readonly FieldValue[], depth: number): number {
  if (depth > MAX_FIELD_NESTING) tooDeep()
  let n = 4
  for (let i = 0; i < a.length; i++) n += valueSize(a[i], depth)
  return n
}

function writeValue(buf: Buffer, o: number, v: FieldValue | undefined): number {
  switch (typeof v) {
    case 'boolean':
      buf[o] = C_t
      buf[o + 1] = v ? 1 : 0
      return o + 2
    case 'number': {
      const t = numberType(v)
      if (t === 'I') {
        buf[o] = C_I
        buf.writeInt32BE(v, o + 1)
        return o + 5
      }
      if (t === 'l') {
        buf[o] = C_l
        return writeInt64(buf, o + 1, v)
      }
      buf[o] = C_d
      buf.writeDoubleBE(v, o + 1)
      return o + 9
    }
    case 'bigint':
      buf[o] = C_l
      buf.writeBigInt64BE(v, o + 1)
      return o + 9
    case 'string':
      buf[o] = C_S
      return writeLongstr(buf, o + 1, v)
    case 'object':
      if (v === null) break
      if (v instanceof TypedValue) return writeTyped(buf, o, v)
      if (v instanceof Uint8Array) {
        buf[o] = C_x
        return writeLongstrBuffer(buf, o + 1, v)
      }
      if (Array.isArray(v)) {
        buf[o] = C_A
        return writeArrayAt(buf, o + 1, v)
      }
      if (v instanceof Date) {
        buf[o] = C_T
        return writeLonglong(buf, o + 1, dateSeconds(v))
      }
      if (v instanceof Decimal) {
        buf[o] = C_D
        buf.writeUInt8(v.scale, o + 1)
        buf.writeUInt32BE(v.value, o + 2)
        return o + 6
      }
      buf[o] = C_F
      return writeTableAt(buf, o + 1, v)
    default:
      break
  }
  buf[o] = C_V
  return o + 1
}

function writeTyped(buf: Buffer, o: number, tv: TypedValue): number {
  const v = tv.value as unknown
  buf[o] = tv.type.charCodeAt(0)
  o++
  switch (tv.type) {
    case 't':
      buf.writeUInt8(typeof v === 'number' ? v : v ? 1 : 0, o)
      return o + 1
    case 'b':
      buf.writeInt8(v as number, o)
      return o + 1
    case 'B':
      buf.writeUInt8(v as number, o)
      return o + 1
    case 's':
      buf.writeInt16BE(v as number, o)
      return o + 2
    case 'u':
      buf.writeUInt16BE(v as number, o)
      return o + 2
    case 'I':
      buf.writeInt32BE(v as number, o)
      return o + 4
    case 'i':
      buf.writeUInt32BE(v as number, o)
      return o + 4
    case 'l':
      return writeInt64(buf, o, v as number | bigint)
    case 'f':
      buf.writeFloatBE(v as number, o)
      return o + 4
    case 'd':
      buf.writeDoubleBE(v as number, o)
      return o + 8
    case 'D': {
      const d = v as Decimal
      buf.writeUInt8(d.scale, o)
      buf.writeUInt32BE(d.value, o + 1)
      return o + 5
    }
    case 'S':
      return typeof v === 'string' ? writeLongstr(buf, o, v) : writeLongstrBuffer(buf, o, v as Uint8Array)
    case 'x':
      return writeLongstrBuffer(buf, o, v as Uint8Array)
    case 'A':
      return writeArrayAt(buf, o, v as FieldValue[])
    case 'T':
      return writeUint64(buf, o, v instanceof Date ? dateSeconds(v) : (v as number | bigint))
    case 'F':
      return writeTableAt(buf, o, v as FieldTable)
    case 'V':
      return o
  }
}

function writeTableAt(buf: Buffer, off: number, t: FieldTable): number {
  let o = off + 4
  for (const k in t) {
    if (!Object.prototype.hasOwnProperty.call(t, k)) continue
    o = writeShortstr(buf, o, k)
    o = writeValue(buf, o, t[k])
  }
  buf.writeUInt32BE(o - off - 4, off)
  return o
}

function writeArrayAt(buf: Buffer, off: number, a: readonly FieldValue[]): number {
  let o = off + 4
  for (let i = 0; i < a.length; i++) o = writeValue(buf, o, a[i])
  buf.writeUInt32BE(o - off - 4, off)
  return o
}

/** Encoded size of a table including its 4-byte length prefix (validates: throws on what cannot be encoded). */
export function fieldTableSize(t: FieldTable): number {
  return tableSize(t, 0)
}

/** Writes a table (with its length prefix) at off; size it with fieldTableSize first. Returns the new offset. */
export function writeFieldTable(buf: Buffer, off: number, t: FieldTable): number {
  return writeTableAt(buf, off, t)
}

export function fieldArraySize(a: readonly FieldValue[]): number {
  return arraySize(a, 0)
}

export function writeFieldArray(buf: Buffer, off: number, a: readonly FieldValue[]): number {
  return writeArrayAt(buf, off, a)
}

/** A field table with its 4-byte length prefix. */
export function encodeFieldTable(t: FieldTable): Buffer {
  const buf = Buffer.allocUnsafe(tableSize(t, 0))
  writeTableAt(buf, 0, t)
  return buf
}

/** A field array with its 4-byte length prefix. */
export function encodeFieldArray(a: readonly FieldValue[]): Buffer {
  const buf = Buffer.allocUnsafe(arraySize(a, 0))
  writeArrayAt(buf, 0, a)
  return buf
}

// ---------------------------------------------------------------------------------------------------------------
// decoding

/**
 * Sequential reader over buf[pos, end). Truncation throws ProtocolError 501 FRAME_ERROR (callers that know which
 * method they decode rethrow it with the method's name and ids); anything wrong inside a field table throws 502.
 */
export class Reader {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  truncated(): never {
    throw new ProtocolError(FRAME_ERROR, 'FRAME_ERROR - truncated arguments')
  }

  octet(): number {
    if (this.pos >= this.end) this.truncated()
    return this.buf[this.pos++]
  }

  short(): number {
    const p = this.pos
    if (p + 2 > this.end) this.truncated()
    this.pos = p + 2
    return (this.buf[p] << 8) | this.buf[p + 1]
  }

  long(): number {
    const p = this.pos
    if (p + 4 > this.end) this.truncated()
    this.pos = p + 4
    return this.buf.readUInt32BE(p)
  }

  /** Unsigned 64-bit as a number: exact up to 2^53, rounded beyond (no client sends such delivery tags). */
  longlong(): number {
    const p = this.pos
    if (p + 8 > this.end) this.truncated()
    this.pos = p + 8
    return this.buf.readUInt32BE(p) * TWO_32 + this.buf.readUInt32BE(p + 4)
  }

  shortstr(): string {
    const p = this.pos
    if (p >= this.end) this.truncated()
    const n = this.buf[p]
    const e = p + 1 + n
    if (e > this.end) this.truncated()
    this.pos = e
    return n === 0 ? '' : this.buf.toString('utf8', p + 1, e)
  }

  private longstrEnd(): number {
    const p = this.pos
    if (p + 4 > this.end) this.truncated()
    const e = p + 4 + this.buf.readUInt32BE(p)
    if (e > this.end) this.truncated()
    this.pos = e
    return e
  }

  longstr(): string {
    const p = this.pos
    const e = this.longstrEnd()
    return e === p + 4 ? '' : this.buf.toString('utf8', p + 4, e)
  }

  /** A long string as bytes (a subarray of the input). */
  longstrBuffer(): Buffer {
    const p = this.pos
    const e = this.longstrEnd()
    return this.buf.subarray(p + 4, e)
  }

  table(): FieldTable {
    return readTable(this, this.end, 0)
  }

  skipShortstr(): void {
    this.shortstr()
  }

  skipLongstr(): void {
    this.longstrEnd()
  }
}

function syntax(msg: string): never {
  throw new ProtocolError(SYNTAX_ERROR, `SYNTAX_ERROR - ${msg}`)
}

function typeName(c: number): string {
  return c >= 0x20 && c < 0x7f ? `'${String.fromCharCode(c)}'` : `0x${c.toString(16).padStart(2, '0')}`
}

/** Reads a length-prefixed table at r.pos (all errors 502). */
function readTable(r: Reader, limit: number, depth: number): FieldTable {
  const p = r.pos
  if (p + 4 > limit) syntax('truncated field table length')
  const end = p + 4 + r.buf.readUInt32BE(p)
  if (end > limit) syntax(`field table length ${end - p - 4} exceeds the ${limit - p - 4} octets available`)
  if (depth >= MAX_FIELD_NESTING) syntax(`field tables nested deeper than ${MAX_FIELD_NESTING} levels`)
  r.pos = p + 4
  const buf = r.buf
  const t: FieldTable = {}
  while (r.pos < end) {
    const kp = r.pos
    const klen = buf[kp]
    const vp = kp + 1 + klen
    if (vp >= end) syntax('truncated field table entry')
    const key = buf.toString('utf8', kp + 1, vp)
    r.pos = vp
    const v = readValue(r, end, depth)
    if (key === '__proto__') Object.defineProperty(t, key, { value: v, enumerable: true, writable: true, configurable: true })
    else t[key] = v
  }
  return t
}

/** Reads a length-prefixed array at r.pos (all errors 502). */
function readArray(r: Reader, limit: number, depth: number): FieldValue[] {
  const p = r.pos
  if (p + 4 > limit) syntax('truncated field array length')
  const end = p + 4 + r.buf.readUInt32BE(p)
  if (end > limit) syntax(`field array length ${end - p - 4} exceeds the ${limit - p - 4} octets available`)
  if (depth >= MAX_FIELD_NESTING) syntax(`field arrays nested deeper than ${MAX_FIELD_NESTING} levels`)
  r.pos = p + 4
  const a: FieldValue[] = []
  while (r.pos < end) a.push(readValue(r, end, depth))
  return a
}

/** Reads type octet + value at r.pos, within [r.pos, end). */
function readValue(r: Reader, end: number, depth: number): FieldValue {
  const buf = r.buf
  let p = r.pos
  if (p >= end) syntax('missing field value')
  const type = buf[p++]
  let n: number // bytes of fixed-size value
  switch (type) {
    case C_t:
    case C_b:
    case C_B:
      n = 1
      break
    case C_s:
    case C_u:
      n = 2
      break
    case C_I:
    case C_i:
    case C_f:
      n = 4
      break
    case C_l:
    case C_d:
    case C_T:
      n = 8
      break
    case C_D:
      n = 5
      break
    case C_V:
      r.pos = p
      return null
    case C_S:
    case C_x: {
      if (p + 4 > end) syntax('truncated long string length')
      const e = p + 4 + buf.readUInt32BE(p)
      if (e > end) syntax('long string exceeds the field table')
      r.pos = e
      const bytes = buf.subarray(p + 4, e)
      if (type === C_x) return bytes
      return isUtf8(bytes) ? bytes.toString('utf8') : new TypedValue('S', bytes)
    }
    case C_A:
      r.pos = p
      return readArray(r, end, depth + 1)
    case C_F:
      r.pos = p
      return readTable(r, end, depth + 1)
    default:
      syntax(`unsupported field table type ${typeName(type)}`)
  }
  if (p + n > end) syntax(`truncated field value of type ${typeName(type)}`)
  r.pos = p + n
  switch (type) {
    case C_t: {
      const x = buf[p]
      return x === 1 ? true : x === 0 ? false : new TypedValue('t', x)
    }
    case C_b:
      return new TypedValue('b', (buf[p] << 24) >> 24)
    case C_B:
      return new TypedValue('B', buf[p])
    case C_s:
      return new TypedValue('s', buf.readInt16BE(p))
    case C_u:
      return new TypedValue('u', buf.readUInt16BE(p))
    case C_I:
      return buf.readInt32BE(p)
    case C_i:
      return new TypedValue('i', buf.readUInt32BE(p))
    case C_f:
      return new TypedValue('f', buf.readFloatBE(p))
    case C_d: {
      const v = buf.readDoubleBE(p)
      return numberType(v) === 'd' ? v : new TypedValue('d', v)
    }
    case C_l: {
      const hi = buf.readInt32BE(p)
      if (hi >= -SAFE_HI && hi < SAFE_HI) {
        const v = hi * TWO_32 + buf.readUInt32BE(p + 4)
        if (Number.isSafeInteger(v)) return (v | 0) === v ? new TypedValue('l', v) : v
      }
      return buf.readBigInt64BE(p)
    }
    case C_T: {
      const hi = buf.readUInt32BE(p)
      if (hi < SAFE_HI) {
        const s = hi * TWO_32 + buf.readUInt32BE(p + 4)
        return s <= MAX_DATE_SECONDS ? new Date(s * 1000) : new TypedValue('T', s)
      }
      return new TypedValue('T', buf.readBigUInt64BE(p))
    }
    default: // C_D
      return new Decimal(buf[p], buf.readUInt32BE(p + 1))
  }
}

/** Decodes a length-prefixed field table at offset. Malformed input throws ProtocolError 502 SYNTAX_ERROR. */
export function decodeFieldTable(buf: Buffer, offset = 0): { value: FieldTable; offset: number } {
  const r = new Reader(buf, offset, buf.length)
  const value = readTable(r, buf.length, 0)
  return { value, offset: r.pos }
}

/** Decodes a length-prefixed field array at offset. Malformed input throws ProtocolError 502 SYNTAX_ERROR. */
export function decodeFieldArray(buf: Buffer, offset = 0): { value: FieldValue[]; offset: number } {
  const r = new Reader(buf, offset, buf.length)
  const value = readArray(r, buf.length, 0)
  return { value, offset: r.pos }
}

/**
 * The value as plain JS, TypedValues unwrapped recursively, for code that only reads values (header matching,
 * x-message-ttl...): integers of every width → number (bigint beyond the safe range), f/d → number, S that is not
 * UTF-8 → string (with replacement characters), t → boolean, T → Date (number of seconds when out of Date's range).
 */
export function plainFieldValue(v: FieldValue | undefined): PlainFieldValue {
  if (typeof v !== 'object' || v === null) return v === undefined ? null : v
  if (v instanceof TypedValue) {
    const x = v.value as unknown
    switch (v.type) {
      case 't':
        return typeof x === 'number' ? x !== 0 : (x as boolean)
      case 'S':
        return typeof x === 'string' ? x : Buffer.from(x as Uint8Array).toString('utf8')
      case 'x':
        return Buffer.isBuffer(x) ? x : Buffer.from(x as Uint8Array)
      case 'A':
      case 'F':
        return plainFieldValue(x as FieldValue)
      default:
        return x as PlainFieldValue
    }
  }
  if (Array.isArray(v)) return v.map(plainFieldValue)
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v)
  if (v instanceof Date || v instanceof Decimal) return v
  const out: PlainFieldTable = {}
  for (const k in v) {
    if (!Object.prototype.hasOwnProperty.call(v, k)) continue
    const pv = plainFieldValue(v[k])
    if (k === '__proto__') Object.defineProperty(out, k, { value: pv, enumerable: true, writable: true, configurable: true })
    else out[k] = pv
  }
  return out
}

/** plainFieldValue of every entry of a table. */
export function plainFieldTable(t: FieldTable): PlainFieldTable {
  return plainFieldValue(t) as PlainFieldTable
}
