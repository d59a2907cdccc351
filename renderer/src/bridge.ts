import type { WarrenBridge } from '../../main/contract'

let override: WarrenBridge | undefined

/** Lets tests (and, later, the web console) supply the bridge instead of `window.warren`. */
export function setBridge(bridge: WarrenBridge | undefined): void {
  override = bridge
}

export function getBridge(): WarrenBridge {
  const bridge = override ?? (typeof window !== 'undefined' ? window.warren : undefined)
  if (!bridge) throw new Error('window.warren is missing: the console must run inside Warren (desktop app or web console)')
  return bridge
}
