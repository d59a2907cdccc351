/**
 * Generates broker/protocol/generated/amqp-spec.generated.ts from the AMQP 0-9-1 spec XML (RabbitMQ's extended
 * spec, as packaged by Debian's amqp-specs) plus amqp0-9-1.warren-additions.xml (RabbitMQ extensions missing from
 * that file). Run with `npm run generate:codec`; the output is checked in.
 *
 * The output holds: the spec's constants (frame types, reply codes) and class ids, one interface per method (camelCase
 * fields, reserved fields left out), MethodArgs/MethodName/AmqpMethod, field metadata, encodeMethod/decodeMethod
 * with their in-place variants, and the basic content-header properties codec.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { XMLParser } from 'fast-xml-parser'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, '..', '..', '..')
const SPEC = join(here, 'amqp0-9-1.extended.xml')
const ADDITIONS = join(here, 'amqp0-9-1.warren-additions.xml')
const OUT = join(here, '..', 'generated', 'amqp-spec.generated.ts')

type WireType = 'bit' | 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'table' | 'timestamp'
const WIRE_TYPES = new Set<string>(['bit', 'octet', 'short', 'long', 'longlong', 'shortstr', 'longstr', 'table', 'timestamp'])

/** longstr fields that carry bytes, not text (SASL challenges/responses, secrets): typed Buffer. */
const BINARY_LONGSTR = new Set([
  'connection.start-ok.response',
  'connection.secure.challenge',
  'connection.secure-ok.response',
  'connection.update-secret.new-secret',
])

/** Basic property renamed from the spec file: RabbitMQ's name for the 14th property. */
const PROPERTY_RENAMES: Record<string, string> = { 'basic.reserved': 'cluster-id' }

interface XmlNode {
  [key: string]: unknown
}
interface FieldModel {
  wireName: string
  name: string
  type: WireType
  reserved: boolean
  binary: boolean
}
interface MethodModel {
  fullName: string
  iface: string
  fn: string
  classId: number
  methodId: number
  synchronous: boolean
  hasContent: boolean
  fields: FieldModel[]
}
interface ClassModel {
  name: string
  index: number
  methods: XmlNode[]
  properties: XmlNode[]
}

const arrays = new Set(['constant', 'domain', 'class', 'method', 'field', 'chassis', 'response', 'assert'])
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  isArray: (name, _jPath, _isLeaf, isAttribute) => !isAttribute && arrays.has(name),
})

function load(file: string): XmlNode {
  const doc = parser.parse(readFileSync(file, 'utf8')) as XmlNode
  const amqp = doc.amqp as XmlNode | undefined
  if (!amqp) throw new Error(`${file}: no <amqp> root element`)
  return amqp
}

const list = (n: XmlNode, key: string): XmlNode[] => (n[key] as XmlNode[] | undefined) ?? []
const attr = (n: XmlNode, key: string): string => {
  const v = n[key]
  if (typeof v !== 'string') throw new Error(`missing attribute ${key} on ${JSON.stringify(n).slice(0, 200)}`)
  return v
}
const camel = (s: string): string => s.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase())
const pascal = (s: string): string => camel(s).replace(/^[a-z]/, (c) => c.toUpperCase())
const constName = (s: string): string => s.toUpperCase().replace(/-/g, '_')
const ident = (s: string): string => s.replace(/[^a-zA-Z0-9]/g, '_')

// ---------------------------------------------------------------------------------------------------------------
// model

const spec = load(SPEC)
const additions = load(ADDITIONS)

const constants: { name: string; value: number; cls?: string }[] = []
for (const c of [...list(spec, 'constant'), ...list(additions, 'constant')]) {
  const name = attr(c, 'name')
  if (constants.some((k) => k.name === name)) throw new Error(`duplicate constant ${name}`)
  constants.push({ name, value: Number(attr(c, 'value')), cls: c.class as string | undefined })
}

const domains = new Map<string, string>()
for (const d of list(spec, 'domain')) domains.set(attr(d, 'name'), attr(d, 'type'))

function fieldType(f: XmlNode, where: string): WireType {
  const t = typeof f.type === 'string' ? f.type : domains.get(attr(f, 'domain'))
  if (!t || !WIRE_TYPES.has(t)) throw new Error(`${where}: unknown type/domain ${String(f.type ?? f.domain)}`)
  return t as WireType
}

const classes: ClassModel[] = []
for (const c of list(spec, 'class')) {
  classes.push({ name: attr(c, 'name'), index: Number(attr(c, 'index')), methods: list(c, 'method'), properties: list(c, 'field') })
}
for (const c of list(additions, 'class')) {
  const target = classes.find((k) => k.name === attr(c, 'name'))
  if (!target) throw new Error(`additions: unknown class ${attr(c, 'name')}`)
  if (Number(attr(c, 'index')) !== target.index) throw new Error(`additions: class ${target.name} index mismatch`)
  target.methods.push(...list(c, 'method'))
}
classes.sort((a, b) => a.index - b.index)

const methods: MethodModel[] = []
for (const c of classes) {
  const sorted = [...c.methods].sort((a, b) => Number(attr(a, 'index')) - Number(attr(b, 'index')))
  for (const m of sorted) {
    const fullName = `${c.name}.${attr(m, 'name')}`
    if (methods.some((k) => k.fullName === fullName)) throw new Error(`duplicate method ${fullName}`)
    const fields = list(m, 'field').map((f): FieldModel => {
      const wireName = attr(f, 'name')
      const type = fieldType(f, `${fullName}.${wireName}`)
      const binary = BINARY_LONGSTR.has(`${fullName}.${wireName}`)
      if (binary && type !== 'longstr') throw new Error(`${fullName}.${wireName} is not a longstr`)
      return { wireName, name: camel(wireName), type, reserved: f.reserved === '1', binary }
    })
    methods.push({
      fullName,
      iface: pascal(c.name) + pascal(attr(m, 'name')),
      fn: ident(fullName),
      classId: c.index,
      methodId: Number(attr(m, 'index')),
      synchronous: m.synchronous === '1',
      hasContent: m.content === '1',
      fields,
    })
  }
}
for (const name of BINARY_LONGSTR) {
  if (!methods.some((m) => m.fields.some((f) => `${m.fullName}.${f.wireName}` === name))) throw new Error(`no field ${name}`)
}

const basic = classes.find((c) => c.name === 'basic')
if (!basic) throw new Error('no basic class')
const properties: FieldModel[] = basic.properties.map((f) => {
  const specName = attr(f, 'name')
  const wireName = PROPERTY_RENAMES[`basic.${specName}`] ?? specName
  return { wireName, name: camel(wireName), type: fieldType(f, `basic property ${specName}`), reserved: false, binary: false }
})
if (properties.length > 15) throw new Error('more than 15 basic properties: continuation flags not supported by the generator')

// ---------------------------------------------------------------------------------------------------------------
// emit

const out: string[] = []
const emit = (s = ''): void => {
  out.push(s)
}

function tsType(f: FieldModel): string {
  switch (f.type) {
    case 'bit':
      return 'boolean'
    case 'shortstr':
      return 'string'
    case 'longstr':
      return f.binary ? 'Buffer' : 'string'
    case 'table':
      return 'FieldTable'
    default:
      return 'number'
  }
}

const hex = (n: number, w: number): string => '0x' + n.toString(16).padStart(w, '0')

emit(`// Generated by broker/protocol/codegen/generate-codec.ts (npm run generate:codec) from ${relative(root, SPEC)}`)
emit(`// and ${relative(root, ADDITIONS)}. Do not edit: change the generator and run it again.`)
emit(`/* eslint-disable */`)
emit(`import { ProtocolError } from '../errors'`)
emit(`import {`)
emit(`  Reader,`)
emit(`  fieldTableSize,`)
emit(`  longstrSize,`)
emit(`  shortstrSize,`)
emit(`  writeFieldTable,`)
emit(`  writeLongstr,`)
emit(`  writeLongstrBuffer,`)
emit(`  writeLonglong,`)
emit(`  writeShortstr,`)
emit(`  type FieldTable,`)
emit(`} from '../field-table'`)
emit()
emit(`// ---- constants ----`)
emit()
for (const c of constants) emit(`export const ${constName(c.name)} = ${c.value}`)
emit()
emit(`/** Reply code → its spec name in upper case (FRAME_ERROR...), as RabbitMQ prefixes reply texts with it. */`)
emit(`export const REPLY_CODE_NAMES: Readonly<Record<number, string>> = {`)
for (const c of constants) if (!c.name.startsWith('frame-')) emit(`  ${c.value}: '${constName(c.name)}',`)
emit(`}`)
emit()
emit(`/** Reply codes whose spec class is hard-error (the connection closes); the others are channel-level. */`)
emit(`export const HARD_ERROR_CODES: ReadonlySet<number> = new Set([${constants.filter((c) => c.cls === 'hard-error').map((c) => c.value).join(', ')}])`)
emit()
for (const c of classes) emit(`export const CLASS_${constName(c.name)} = ${c.index}`)
emit()
emit(`// ---- method argument interfaces (reserved fields omitted: encoded as zero/empty, ignored on decode) ----`)
emit()
for (const m of methods) {
  const visible = m.fields.filter((f) => !f.reserved)
  emit(`/** ${m.fullName} (${m.classId}, ${m.methodId})${m.hasContent ? ', carries content' : ''} */`)
  if (visible.length === 0) {
    emit(`export type ${m.iface} = Record<string, never>`)
  } else {
    emit(`export interface ${m.iface} {`)
    for (const f of visible) emit(`  ${f.name}: ${tsType(f)}`)
    emit(`}`)
  }
  emit()
}
emit(`export interface MethodArgs {`)
for (const m of methods) emit(`  '${m.fullName}': ${m.iface}`)
emit(`}`)
emit()
emit(`export type MethodName = keyof MethodArgs`)
emit()
emit(`export type AmqpMethod = {`)
emit(`  [K in MethodName]: { name: K; classId: number; methodId: number; args: MethodArgs[K] }`)
emit(`}[MethodName]`)
emit()
emit(`// ---- metadata ----`)
emit()
emit(`export type AmqpType = ${[...WIRE_TYPES].map((t) => `'${t}'`).join(' | ')}`)
emit()
emit(`export interface FieldInfo {`)
emit(`  /** camelCase name used in the argument interfaces */`)
emit(`  readonly name: string`)
emit(`  /** name in the spec */`)
emit(`  readonly wireName: string`)
emit(`  readonly type: AmqpType`)
emit(`  /** a longstr typed Buffer instead of string */`)
emit(`  readonly binary: boolean`)
emit(`  /** on the wire only (zero/empty), absent from the interface */`)
emit(`  readonly reserved: boolean`)
emit(`}`)
emit()
emit(`export interface MethodInfo {`)
emit(`  readonly name: MethodName`)
emit(`  readonly classId: number`)
emit(`  readonly methodId: number`)
emit(`  readonly synchronous: boolean`)
emit(`  readonly hasContent: boolean`)
emit(`  /** every field in wire order, reserved ones included */`)
emit(`  readonly fields: readonly FieldInfo[]`)
emit(`}`)
emit()
const fieldLit = (f: FieldModel): string =>
  `{ name: '${f.name}', wireName: '${f.wireName}', type: '${f.type}', binary: ${f.binary}, reserved: ${f.reserved} }`
emit(`export const METHODS: readonly MethodInfo[] = [`)
for (const m of methods) {
  emit(`  {`)
  emit(`    name: '${m.fullName}',`)
  emit(`    classId: ${m.classId},`)
  emit(`    methodId: ${m.methodId},`)
  emit(`    synchronous: ${m.synchronous},`)
  emit(`    hasContent: ${m.hasContent},`)
  if (m.fields.length === 0) emit(`    fields: [],`)
  else {
    emit(`    fields: [`)
    for (const f of m.fields) emit(`      ${fieldLit(f)},`)
    emit(`    ],`)
  }
  emit(`  },`)
}
emit(`]`)
emit()
emit(`/** The basic content-header properties, in property-flag order (bit 15 first). */`)
emit(`export const BASIC_PROPERTIES: readonly FieldInfo[] = [`)
for (const f of properties) emit(`  ${fieldLit(f)},`)
emit(`]`)
emit()
emit(`/** name → ids */`)
emit(`export const methodIds: { readonly [K in MethodName]: { readonly classId: number; readonly methodId: number } } = {`)
for (const m of methods) emit(`  '${m.fullName}': { classId: ${m.classId}, methodId: ${m.methodId} },`)
emit(`}`)
emit()
emit(`/** ids → name, keyed by classId * 65536 + methodId (see methodNameOf) */`)
emit(`export const methodNameById: ReadonlyMap<number, MethodName> = new Map(`)
emit(`  METHODS.map((m) => [m.classId * 65536 + m.methodId, m.name] as const),`)
emit(`)`)
emit()
emit(`export function methodNameOf(classId: number, methodId: number): MethodName | undefined {`)
emit(`  return methodNameById.get(classId * 65536 + methodId)`)
emit(`}`)
emit()
emit(`const methodInfoByName = new Map(METHODS.map((m) => [m.name, m] as const))`)
emit()
emit(`export function methodInfo(name: MethodName): MethodInfo {`)
emit(`  return methodInfoByName.get(name)!`)
emit(`}`)
emit()

// encoders
emit(`// ---- encoding ----`)
emit()

/** groups consecutive bits */
function layout(fields: FieldModel[]): (FieldModel | FieldModel[])[] {
  const res: (FieldModel | FieldModel[])[] = []
  let bits: FieldModel[] | null = null
  for (const f of fields) {
    if (f.type === 'bit') {
      if (!bits || bits.length === 8) {
        bits = []
        res.push(bits)
      }
      bits.push(f)
    } else {
      bits = null
      res.push(f)
    }
  }
  return res
}

function sizeExpr(m: MethodModel): string {
  let fixed = 4
  const parts: string[] = []
  for (const item of layout(m.fields)) {
    if (Array.isArray(item)) {
      fixed += 1
      continue
    }
    const f = item
    const a = `a.${f.name}`
    switch (f.type) {
      case 'octet':
        fixed += 1
        break
      case 'short':
        fixed += 2
        break
      case 'long':
        fixed += 4
        break
      case 'longlong':
      case 'timestamp':
        fixed += 8
        break
      case 'shortstr':
        if (f.reserved) fixed += 1
        else parts.push(`shortstrSize(${a})`)
        break
      case 'longstr':
        if (f.reserved) fixed += 4
        else if (f.binary) {
          fixed += 4
          parts.push(`${a}.length`)
        } else parts.push(`longstrSize(${a})`)
        break
      case 'table':
        parts.push(`fieldTableSize(${a})`)
        break
      default:
        throw new Error(`unhandled ${f.type}`)
    }
  }
  return [String(fixed), ...parts].join(' + ')
}

function writeStmts(m: MethodModel): string[] {
  const s: string[] = [`b.writeUInt32BE(${hex(m.classId * 65536 + m.methodId, 8)}, o) // class ${m.classId}, method ${m.methodId}`, `o += 4`]
  for (const item of layout(m.fields)) {
    if (Array.isArray(item)) {
      const terms = item.filter((f) => !f.reserved).map((f) => `(a.${f.name} ? ${1 << item.indexOf(f)} : 0)`)
      s.push(`b[o++] = ${terms.length ? terms.join(' | ') : '0'}`)
      continue
    }
    const f = item
    const a = `a.${f.name}`
    switch (f.type) {
      case 'octet':
        s.push(`b.writeUInt8(${f.reserved ? '0' : a}, o++)`)
        break
      case 'short':
        s.push(`b.writeUInt16BE(${f.reserved ? '0' : a}, o)`, `o += 2`)
        break
      case 'long':
        s.push(`b.writeUInt32BE(${f.reserved ? '0' : a}, o)`, `o += 4`)
        break
      case 'longlong':
      case 'timestamp':
        s.push(`o = writeLonglong(b, o, ${f.reserved ? '0' : a})`)
        break
      case 'shortstr':
        s.push(f.reserved ? `b[o++] = 0` : `o = writeShortstr(b, o, ${a})`)
        break
      case 'longstr':
        if (f.reserved) s.push(`b.writeUInt32BE(0, o)`, `o += 4`)
        else s.push(f.binary ? `o = writeLongstrBuffer(b, o, ${a})` : `o = writeLongstr(b, o, ${a})`)
        break
      case 'table':
        s.push(`o = writeFieldTable(b, o, ${a})`)
        break
      default:
        throw new Error(`unhandled ${f.type}`)
    }
  }
  s.push('return o')
  return s
}

for (const m of methods) {
  const usesArgs = m.fields.some((f) => !f.reserved)
  const param = usesArgs ? 'a' : '_a'
  emit(`function size_${m.fn}(${param}: ${m.iface}): number {`)
  emit(`  return ${sizeExpr(m)}`)
  emit(`}`)
  emit(`function write_${m.fn}(b: Buffer, o: number, ${param}: ${m.iface}): number {`)
  for (const st of writeStmts(m)) emit(`  ${st}`)
  emit(`}`)
}
emit()
emit(`type Encoder<K extends MethodName> = readonly [(a: MethodArgs[K]) => number, (b: Buffer, o: number, a: MethodArgs[K]) => number]`)
emit(`const ENCODERS: { readonly [K in MethodName]: Encoder<K> } = {`)
for (const m of methods) emit(`  '${m.fullName}': [size_${m.fn}, write_${m.fn}],`)
emit(`}`)
emit()
emit(`/** Size of the method frame payload (class id, method id, arguments) of this method. */`)
emit(`export function methodPayloadSize<K extends MethodName>(name: K, args: MethodArgs[K]): number {`)
emit(`  const e = ENCODERS[name] as Encoder<K> | undefined`)
emit(`  if (!e) throw new TypeError(\`unknown AMQP method \${String(name)}\`)`)
emit(`  return e[0](args)`)
emit(`}`)
emit()
emit(`/** Writes the method frame payload at offset (size it with methodPayloadSize); returns the offset after it. */`)
emit(`export function writeMethodPayload<K extends MethodName>(buf: Buffer, offset: number, name: K, args: MethodArgs[K]): number {`)
emit(`  return (ENCODERS[name] as Encoder<K>)[1](buf, offset, args)`)
emit(`}`)
emit()
emit(`/** The method frame payload: class id, method id, arguments. */`)
emit(`export function encodeMethod<K extends MethodName>(name: K, args: MethodArgs[K]): Buffer {`)
emit(`  const e = ENCODERS[name] as Encoder<K> | undefined`)
emit(`  if (!e) throw new TypeError(\`unknown AMQP method \${String(name)}\`)`)
emit(`  const buf = Buffer.allocUnsafe(e[0](args))`)
emit(`  e[1](buf, 0, args)`)
emit(`  return buf`)
emit(`}`)
emit()

// decoders
emit(`// ---- decoding ----`)
emit()
function readExpr(f: FieldModel): string {
  switch (f.type) {
    case 'octet':
      return 'r.octet()'
    case 'short':
      return 'r.short()'
    case 'long':
      return 'r.long()'
    case 'longlong':
    case 'timestamp':
      return 'r.longlong()'
    case 'shortstr':
      return 'r.shortstr()'
    case 'longstr':
      return f.binary ? 'r.longstrBuffer()' : 'r.longstr()'
    case 'table':
      return 'r.table()'
    default:
      throw new Error(`unhandled ${f.type}`)
  }
}
for (const m of methods) {
  const visible = m.fields.filter((f) => !f.reserved)
  emit(`function decode_${m.fn}(${m.fields.length ? 'r' : '_r'}: Reader): ${m.iface} {`)
  const values = new Map<FieldModel, string>()
  let bitGroup = 0
  for (const item of layout(m.fields)) {
    if (Array.isArray(item)) {
      const v = `bits${bitGroup++}`
      const used = item.filter((f) => !f.reserved)
      if (used.length) emit(`  const ${v} = r.octet()`)
      else emit(`  r.octet()`)
      for (const f of used) values.set(f, `(${v} & ${1 << item.indexOf(f)}) !== 0`)
      continue
    }
    const f = item
    if (f.reserved) {
      if (f.type === 'shortstr') emit(`  r.skipShortstr()`)
      else if (f.type === 'longstr') emit(`  r.skipLongstr()`)
      else emit(`  ${readExpr(f)}`)
    } else {
      emit(`  const v_${f.name} = ${readExpr(f)}`)
      values.set(f, `v_${f.name}`)
    }
  }
  emit(`  return { ${visible.map((f) => `${f.name}: ${values.get(f)}`).join(', ')} }`)
  emit(`}`)
}
emit()
emit(`function decodeArgs(key: number, r: Reader): AmqpMethod | undefined {`)
emit(`  switch (key) {`)
for (const m of methods) {
  emit(`    case ${hex(m.classId * 65536 + m.methodId, 8)}:`)
  emit(`      return { name: '${m.fullName}', classId: ${m.classId}, methodId: ${m.methodId}, args: decode_${m.fn}(r) }`)
}
emit(`    default:`)
emit(`      return undefined`)
emit(`  }`)
emit(`}`)
emit()
emit(`function methodError(e: unknown, classId: number, methodId: number): unknown {`)
emit(`  if (!(e instanceof ProtocolError)) return e`)
emit(`  const name = methodNameOf(classId, methodId) ?? \`method \${classId}/\${methodId}\``)
emit(`  const detail = e.message.replace(/^[A-Z_]+ - /, '')`)
emit(`  const text =`)
emit(`    e.replyCode === FRAME_ERROR`)
emit(`      ? \`FRAME_ERROR - cannot decode \${name}: \${detail}\``)
emit(`      : \`\${REPLY_CODE_NAMES[e.replyCode] ?? 'ERROR'} - \${detail} (in \${name})\``)
emit(`  return new ProtocolError(e.replyCode, text, classId, methodId)`)
emit(`}`)
emit()
emit(`/**`)
emit(` * Decodes a method frame payload (class id, method id, arguments). Throws ProtocolError: 540 NOT_IMPLEMENTED for an`)
emit(` * unknown class/method, 501 FRAME_ERROR for truncated arguments or bytes left over after them, 502 SYNTAX_ERROR for`)
emit(` * a malformed field table. Strings are copied out; Buffer arguments are subarrays of payload.`)
emit(` */`)
emit(`export function decodeMethod(payload: Buffer): AmqpMethod {`)
emit(`  if (payload.length < 4) {`)
emit(`    throw new ProtocolError(FRAME_ERROR, \`FRAME_ERROR - method frame payload of \${payload.length} octets has no class and method id\`)`)
emit(`  }`)
emit(`  const classId = (payload[0] << 8) | payload[1]`)
emit(`  const methodId = (payload[2] << 8) | payload[3]`)
emit(`  const r = new Reader(payload, 4, payload.length)`)
emit(`  let m: AmqpMethod | undefined`)
emit(`  try {`)
emit(`    m = decodeArgs(classId * 65536 + methodId, r)`)
emit(`  } catch (e) {`)
emit(`    throw methodError(e, classId, methodId)`)
emit(`  }`)
emit(`  if (m === undefined) {`)
emit(`    throw new ProtocolError(NOT_IMPLEMENTED, \`NOT_IMPLEMENTED - unknown method: class \${classId}, method \${methodId}\`, classId, methodId)`)
emit(`  }`)
emit(`  if (r.pos !== r.end) {`)
emit(`    throw new ProtocolError(`)
emit(`      FRAME_ERROR,`)
emit(`      \`FRAME_ERROR - cannot decode \${m.name}: \${r.end - r.pos} unexpected octets after the arguments\`,`)
emit(`      classId,`)
emit(`      methodId,`)
emit(`    )`)
emit(`  }`)
emit(`  return m`)
emit(`}`)
emit()

// properties
emit(`// ---- basic content-header properties ----`)
emit()
emit(`/** The properties of a basic content header; absent properties are left out. timestamp is in seconds. */`)
emit(`export interface BasicProperties {`)
for (const f of properties) emit(`  ${f.name}?: ${tsType(f)}`)
emit(`}`)
emit()
const flag = (i: number): string => hex(1 << (15 - i), 4)
emit(`/** Encodes property flags + property list (the part of a content header after class, weight and body size). */`)
emit(`export function encodeBasicProperties(p: BasicProperties): Buffer {`)
emit(`  let flags = 0`)
emit(`  let size = 2`)
properties.forEach((f, i) => {
  const a = `p.${f.name}`
  let sz: string
  switch (f.type) {
    case 'octet':
      sz = '1'
      break
    case 'shortstr':
      sz = `shortstrSize(${a})`
      break
    case 'table':
      sz = `fieldTableSize(${a})`
      break
    case 'timestamp':
    case 'longlong':
      sz = '8'
      break
    default:
      throw new Error(`property type ${f.type} not supported`)
  }
  emit(`  if (${a} != null) {`)
  emit(`    flags |= ${flag(i)}`)
  emit(`    size += ${sz}`)
  emit(`  }`)
})
emit(`  const b = Buffer.allocUnsafe(size)`)
emit(`  b.writeUInt16BE(flags, 0)`)
emit(`  let o = 2`)
properties.forEach((f) => {
  const a = `p.${f.name}`
  let st: string
  switch (f.type) {
    case 'octet':
      st = `b.writeUInt8(${a}, o++)`
      break
    case 'shortstr':
      st = `o = writeShortstr(b, o, ${a})`
      break
    case 'table':
      st = `o = writeFieldTable(b, o, ${a})`
      break
    default:
      st = `o = writeLonglong(b, o, ${a})`
  }
  emit(`  if (${a} != null) ${st}`)
})
emit(`  return b`)
emit(`}`)
emit()
const knownMask = properties.reduce((m, _, i) => m | (1 << (15 - i)), 0)
emit(`/**`)
emit(` * Decodes property flags + property list. Continuation flag words are accepted as long as they set no property;`)
emit(` * an unknown property flag, a truncated list or bytes left over throw ProtocolError 501, a bad headers table 502.`)
emit(` */`)
emit(`export function decodeBasicProperties(buf: Buffer): BasicProperties {`)
emit(`  const r = new Reader(buf, 0, buf.length)`)
emit(`  try {`)
emit(`    const flags = r.short()`)
emit(`    if (flags & 1) {`)
emit(`      let w = flags`)
emit(`      while (w & 1) {`)
emit(`        w = r.short()`)
emit(`        if (w & 0xfffe) throw new ProtocolError(FRAME_ERROR, \`FRAME_ERROR - unknown property flags \${w & 0xfffe} in a continuation word\`)`)
emit(`      }`)
emit(`    }`)
emit(`    if (flags & ${hex(~knownMask & 0xfffe, 4)}) throw new ProtocolError(FRAME_ERROR, \`FRAME_ERROR - unknown property flags \${flags & ${hex(~knownMask & 0xfffe, 4)}}\`)`)
emit(`    const p: BasicProperties = {}`)
properties.forEach((f, i) => {
  emit(`    if (flags & ${flag(i)}) p.${f.name} = ${readExpr(f)}`)
})
emit(`    if (r.pos !== r.end) throw new ProtocolError(FRAME_ERROR, \`FRAME_ERROR - \${r.end - r.pos} unexpected octets after the properties\`)`)
emit(`    return p`)
emit(`  } catch (e) {`)
emit(`    if (!(e instanceof ProtocolError)) throw e`)
emit(`    const detail = e.message.replace(/^[A-Z_]+ - /, '')`)
emit(`    throw new ProtocolError(e.replyCode, \`\${REPLY_CODE_NAMES[e.replyCode]} - cannot decode basic properties: \${detail}\`)`)
emit(`  }`)
emit(`}`)

mkdirSync(dirname(OUT), { recursive: true })
writeFileSync(OUT, out.join('\n') + '\n')
console.log(`wrote ${relative(root, OUT)}: ${methods.length} methods, ${properties.length} basic properties, ${constants.length} constants`)
