import { describe, it, expect } from 'vitest'
import {
  FrameReader,
  HEARTBEAT_FRAME,
  METHODS,
  ProtocolError,
  bodyFrames,
  contentHeaderFrame,
  decodeBasicProperties,
  decodeContentHeader,
  decodeFieldArray,
  decodeFieldTable,
  decodeMethod,
  encodeBasicProperties,
  encodeFieldTable,
  methodFrame,
  type Frame,
} from '../../../broker/protocol'
import { allProperties, prng, sampleArgs, SAMPLE_TABLE } from './helpers'

const SEED = 0x5eed1234
const CASES = 10_000

/** Runs fn; only ProtocolError may escape it. */
function onlyProtocolErrors(label: string, bytes: Buffer, fn: () => void): number {
  try {
    fn()
    return 0
  } catch (e) {
    if (e instanceof ProtocolError && typeof e.replyCode === 'number') return 1
    throw new Error(`${label}: ${String(e)} on input ${bytes.toString('hex')}`, { cause: e })
  }
}

function decodeFrame(f: Frame): void {
  if (f.type === 1) decodeMethod(f.payload)
  else if (f.type === 2) decodeBasicProperties(decodeContentHeader(f.payload).properties)
}

/** Feeds bytes to a fresh FrameReader in random chunks, decoding every frame. */
function feed(bytes: Buffer, rnd: () => number): void {
  const reader = new FrameReader(4096)
  let pos = 0
  while (pos < bytes.length) {
    const n = 1 + Math.floor(rnd() * (bytes.length - pos))
    reader.push(bytes.subarray(pos, pos + n), decodeFrame)
    pos += n
  }
}

/** Every decoder on the same bytes. */
function decodeEverything(label: string, bytes: Buffer, rnd: () => number): number {
  let errors = 0
  errors += onlyProtocolErrors(`${label} FrameReader`, bytes, () => feed(bytes, rnd))
  errors += onlyProtocolErrors(`${label} decodeMethod`, bytes, () => decodeMethod(bytes))
  errors += onlyProtocolErrors(`${label} decodeContentHeader`, bytes, () => decodeBasicProperties(decodeContentHeader(bytes).properties))
  errors += onlyProtocolErrors(`${label} decodeBasicProperties`, bytes, () => decodeBasicProperties(bytes))
  errors += onlyProtocolErrors(`${label} decodeFieldTable`, bytes, () => decodeFieldTable(bytes, 0))
  errors += onlyProtocolErrors(`${label} decodeFieldArray`, bytes, () => decodeFieldArray(bytes, 0))
  return errors
}

function validFrames(): Buffer[] {
  const frames: Buffer[] = [HEARTBEAT_FRAME]
  for (const m of METHODS) for (const v of [0, 1]) frames.push(methodFrame(1, m.name, sampleArgs(m, v)))
  frames.push(contentHeaderFrame(1, 60, 10, encodeBasicProperties(allProperties())))
  frames.push(contentHeaderFrame(1, 60, 0, encodeBasicProperties({ deliveryMode: 2, headers: SAMPLE_TABLE })))
  frames.push(contentHeaderFrame(1, 60, 3, encodeBasicProperties({})))
  frames.push(...bodyFrames(1, Buffer.from('some body bytes'), 4096))
  return frames
}

describe('fuzzing: only ProtocolError ever escapes the decoders', () => {
  it(`${CASES} random byte strings (seed ${SEED})`, () => {
    const rnd = prng(SEED)
    const byte = (): number => Math.floor(rnd() * 256)
    const ids = METHODS.map((m) => [m.classId, m.methodId])
    let rejected = 0
    for (let i = 0; i < CASES; i++) {
      const len = Math.floor(rnd() * rnd() * 200)
      const bytes = Buffer.alloc(len)
      for (let j = 0; j < len; j++) bytes[j] = byte()
      // a third of them start like something valid, to get past the first checks
      const shape = i % 3
      if (shape === 1 && len >= 4) {
        const [c, m] = ids[Math.floor(rnd() * ids.length)]
        bytes.writeUInt16BE(c, 0)
        bytes.writeUInt16BE(m, 2)
      } else if (shape === 2 && len >= 8) {
        bytes[0] = [1, 2, 3, 8][Math.floor(rnd() * 4)]
        bytes[1] = 0
        bytes.writeUInt32BE(rnd() < 0.8 ? len - 8 : byte(), 3)
        if (rnd() < 0.8) bytes[len - 1] = 0xce
      }
      rejected += decodeEverything(`random #${i}`, bytes, rnd)
    }
    expect(rejected).toBeGreaterThan(0)
  })

  it(`${CASES} mutations of valid frames (seed ${SEED + 1})`, () => {
    const rnd = prng(SEED + 1)
    const byte = (): number => Math.floor(rnd() * 256)
    const corpus = validFrames()
    // the corpus itself is valid
    for (const f of corpus) expect(decodeEverything('corpus', f, rnd)).toBeLessThan(6)
    let rejected = 0
    for (let i = 0; i < CASES; i++) {
      const frame = corpus[Math.floor(rnd() * corpus.length)]
      const next = rnd() < 0.3 ? corpus[Math.floor(rnd() * corpus.length)] : Buffer.alloc(0)
      const bytes = Buffer.concat([frame, next])
      const kind = i % 4
      if (kind === 0) {
        bytes[Math.floor(rnd() * bytes.length)] = byte() // one byte
      } else if (kind === 1) {
        const n = 2 + Math.floor(rnd() * 7) // several bytes
        for (let k = 0; k < n; k++) bytes[Math.floor(rnd() * bytes.length)] = byte()
      } else if (kind === 2) {
        // one byte inside the payload, the frame envelope left intact so the decoders see it
        if (frame.length > 8) bytes[7 + Math.floor(rnd() * (frame.length - 8))] = byte()
      } else {
        // a small integer nudge of a length-like position (off-by-one lengths)
        const p = 7 + Math.floor(rnd() * Math.max(1, frame.length - 8))
        bytes[p] = (bytes[p] + (rnd() < 0.5 ? 1 : 255)) & 0xff
      }
      const mutated = rnd() < 0.1 ? bytes.subarray(0, Math.floor(rnd() * bytes.length)) : bytes
      rejected += decodeEverything(`mutation #${i}`, mutated, rnd)
      // and the mutated payload on its own
      if (frame.length > 8) {
        const payload = mutated.subarray(7, Math.min(mutated.length, frame.length - 1))
        rejected += decodeEverything(`mutation #${i} payload`, payload, rnd)
      }
    }
    expect(rejected).toBeGreaterThan(0)
  })

  it('random field tables survive decoding of their own random corruptions', () => {
    const rnd = prng(SEED + 2)
    for (let i = 0; i < 2000; i++) {
      const wire = encodeFieldTable({ ...SAMPLE_TABLE, i, s: 'x'.repeat(i % 50) })
      const n = 1 + Math.floor(rnd() * 4)
      for (let k = 0; k < n; k++) wire[Math.floor(rnd() * wire.length)] = Math.floor(rnd() * 256)
      onlyProtocolErrors(`table #${i}`, wire, () => decodeFieldTable(wire, 0))
    }
  })
})
