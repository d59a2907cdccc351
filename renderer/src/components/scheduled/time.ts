/** Time formatting for the Scheduled view (pure, unit-tested). */

/** "in 1 h 02 min", "in 4.2 s", "due" for a remaining time in ms. */
export function countdown(ms: number): string {
  if (ms <= 0) return 'due'
  const s = Math.ceil(ms / 1000)
  if (s < 60) return `in ${s} s`
  const m = Math.floor(s / 60)
  const rs = s % 60
  if (m < 60) return `in ${m} min ${String(rs).padStart(2, '0')} s`
  const h = Math.floor(m / 60)
  const rm = m % 60
  if (h < 48) return `in ${h} h ${String(rm).padStart(2, '0')} min`
  const d = Math.floor(h / 24)
  return `in ${d} d ${h % 24} h`
}

/** A delay in the given unit → ms. */
export function toMs(amount: number, unit: 's' | 'min' | 'h' | 'd'): number {
  const factor = { s: 1000, min: 60_000, h: 3_600_000, d: 86_400_000 }[unit]
  return Math.round(amount * factor)
}

/** Local date-time with seconds, e.g. "2026-11-25 23:40:05". */
export function formatDue(at: number): string {
  const d = new Date(at)
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}
