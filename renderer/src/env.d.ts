import type { WarrenBridge } from '../../main/contract'

declare global {
  interface Window {
    /** set by the desktop preload (main/shell/preload.ts) or, later, by the web console */
    warren?: WarrenBridge
  }
}

export {}
