import type { MetricsHistory } from '../../../../main/contract'

/** One line per series; `points` are [time, value] with null for a gap (no line drawn across it). */
export interface ChartLine {
  name: string
  points: [number, number | null][]
}

/** Lines for a chart from a metrics history: `series` maps the history's series keys to legend names. */
export function linesOf(history: MetricsHistory | undefined, series: Record<string, string>): ChartLine[] {
  return Object.entries(series).map(([key, name]) => ({
    name,
    points: history ? history.t.map((t, i): [number, number | null] => [t, history.series[key]?.[i] ?? null]) : [],
  }))
}

/** Whether a history has any value at all (an empty chart shows an explanation instead). */
export function hasData(history: MetricsHistory | undefined): boolean {
  return !!history && Object.values(history.series).some((values) => values.some((v) => v !== null))
}
