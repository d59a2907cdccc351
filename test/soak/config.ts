// The one switch between the short reliability runs (part of `npm test`) and the long ones (`npm run test:soak`,
// which sets WARREN_SOAK=1 through vitest.soak.config.ts). Every randomised test takes its seed from here and prints
// it, so a failure can be replayed with WARREN_SEED=<seed>.

/** true under `npm run test:soak` */
export const SOAK = process.env.WARREN_SOAK === '1'

/** The short figure in `npm test`, the long one in the soak run. */
export function scale<T>(short: T, long: T): T {
  return SOAK ? long : short
}

/** mulberry32: a small seeded PRNG, so a failing run reproduces from its seed. */
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

export interface Seeded {
  seed: number
  rnd: () => number
  /** an integer in [min, max] */
  int(min: number, max: number): number
  pick<T>(items: readonly T[]): T
}

/** A seeded random source for one test: WARREN_SEED if set, else a fresh seed; either way it is printed. */
export function seeded(label: string): Seeded {
  const fromEnv = process.env.WARREN_SEED
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0
  console.log(`[${label}] seed=${seed} (replay with WARREN_SEED=${seed})`)
  const rnd = prng(seed)
  return {
    seed,
    rnd,
    int: (min, max) => min + Math.floor(rnd() * (max - min + 1)),
    pick: (items) => items[Math.floor(rnd() * items.length)],
  }
}
