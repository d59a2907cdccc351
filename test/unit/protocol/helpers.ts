import {
  BASIC_PROPERTIES,
  METHODS,
  TypedValue,
  type BasicProperties,
  type FieldInfo,
  type FieldTable,
  type MethodArgs,
  type MethodInfo,
  type MethodName,
} from '../../../broker/protocol'

/** mulberry32: small seeded PRNG so failures reproduce. */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const SAMPLE_TABLE: FieldTable = {
  'x-message-ttl': 60000,
  big: 2 ** 40,
  text: 'héllo ✓',
  flag: true,
  nested: { list: [1, 'two', null, { three: 2n ** 60n }], bytes: Buffer.from([0, 255]) },
  typed: new TypedValue('s', -12),
}

/**
 * A non-default value for a field, from its wire type. variant 0: every bit set; variant 1: alternating bits
 * (catches bit-position mistakes); other values change the numbers and strings.
 */
export function sampleValue(f: FieldInfo, index: number, variant: number): unknown {
  switch (f.type) {
    case 'bit':
      return variant === 1 ? index % 2 === 0 : true
    case 'octet':
      return (index * 37 + 1 + variant) % 256 || 1
    case 'short':
      return 0xfe00 + index + variant
    case 'long':
      return 0xfedcba98 - index - variant
    case 'longlong':
    case 'timestamp':
      return Number.MAX_SAFE_INTEGER - index - variant
    case 'shortstr':
      return `${f.name}-é-${index}-${variant}`
    case 'longstr':
      if (f.binary) return Buffer.from([0, 255, index, variant, 0x80, 0xc0])
      return `long ✓ ${f.name} ${'z'.repeat(300 + variant)}`
    case 'table':
      return { ...SAMPLE_TABLE, index, variant }
  }
}

export function sampleArgs<K extends MethodName>(m: MethodInfo & { name: K }, variant = 0): MethodArgs[K] {
  const args: Record<string, unknown> = {}
  m.fields.forEach((f, i) => {
    if (!f.reserved) args[f.name] = sampleValue(f, i, variant)
  })
  return args as MethodArgs[K]
}

export function allProperties(variant = 0): BasicProperties {
  const p: Record<string, unknown> = {}
  BASIC_PROPERTIES.forEach((f, i) => {
    p[f.name] = f.type === 'timestamp' ? 1700000000 + variant : sampleValue(f, i, variant)
  })
  return p as BasicProperties
}

export { METHODS }
