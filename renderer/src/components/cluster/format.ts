/** Formatting shared by the Cluster view's components. */
export const bytes = (n?: number): string =>
  n === undefined ? '—' : n >= 1e12 ? `${(n / 1e12).toFixed(1)} TB` : n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : n >= 1e6 ? `${(n / 1e6).toFixed(0)} MB` : `${(n / 1e3).toFixed(0)} kB`

export const duration = (ms?: number): string => {
  if (ms === undefined) return '—'
  const s = Math.floor(ms / 1000)
  return s > 86400 ? `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h` : s > 3600 ? `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m` : `${Math.floor(s / 60)}m ${s % 60}s`
}

export const when = (ms?: number): string => (ms === undefined ? '—' : new Date(ms).toLocaleString())

/** "rabbit@host" → "rabbit" when every node shares the host (shorter matrix headers) */
export function shortNames(nodes: string[]): Record<string, string> {
  const hosts = new Set(nodes.map((n) => n.split('@')[1] ?? ''))
  return Object.fromEntries(nodes.map((n) => [n, hosts.size === 1 ? (n.split('@')[0] ?? n) : n]))
}

export const percent = (used?: number, total?: number): number => (used === undefined || !total ? 0 : Math.min(100, Math.round((used / total) * 100)))
