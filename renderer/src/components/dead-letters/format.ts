/** Small display helpers for the dead-letters view. */
export type TagType = 'default' | 'error' | 'warning' | 'info' | 'success'

export function reasonType(reason: string): TagType {
  switch (reason) {
    case 'rejected':
      return 'error'
    case 'expired':
      return 'warning'
    case 'maxlen':
      return 'info'
    case 'delivery_limit':
      return 'error'
    default:
      return 'default'
  }
}

export function formatTime(ms: number | undefined): string {
  if (ms === undefined) return '—'
  const d = new Date(ms)
  const pad = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

export function formatRange(first?: number, last?: number): string {
  if (first === undefined) return 'no death times'
  if (last === undefined || last === first) return formatTime(first)
  return `${formatTime(first)} – ${formatTime(last)}`
}

export function decodeBase64Text(base64: string): string {
  const bin = atob(base64)
  const bytes = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
  return new TextDecoder('utf-8', { fatal: false }).decode(bytes)
}
