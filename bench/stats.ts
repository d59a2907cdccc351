/** Small statistics helpers for the benchmark harness. */

/** Value at percentile p (0..100) of an ascending-sorted array, linear interpolation. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  if (n === 1) return sorted[0];
  const rank = (Math.min(Math.max(p, 0), 100) / 100) * (n - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

export function percentile(values: ArrayLike<number>, p: number): number {
  return percentileSorted(Float64Array.from(values).sort(), p);
}

export function median(values: ArrayLike<number>): number {
  return percentile(values, 50);
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median, min and max of the finite values (NaN fields when there are none). */
export function summarize(values: number[]): Summary {
  const ok = values.filter((v) => Number.isFinite(v));
  if (ok.length === 0) return { median: NaN, min: NaN, max: NaN, n: 0 };
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok), n: ok.length };
}
