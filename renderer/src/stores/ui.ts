import { defineStore } from 'pinia'
import { ref, watch } from 'vue'
import type { CommandName, CommandRequest, CommandResponse, Result, WarrenError } from '../../../main/contract'
import { getBridge } from '../bridge'

export interface Toast {
  id: number
  kind: 'error' | 'success' | 'info'
  title: string
  text: string
}

function initialTheme(): 'dark' | 'light' {
  try {
    const saved = localStorage.getItem('warren.theme')
    if (saved === 'dark' || saved === 'light') return saved
    return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'
  } catch {
    return 'light'
  }
}

/** Theme and toasts: what every view shares. */
export const useUiStore = defineStore('ui', () => {
  const theme = ref<'dark' | 'light'>(initialTheme())
  const toasts = ref<Toast[]>([])
  let next = 1
  watch(theme, (t) => {
    try {
      localStorage.setItem('warren.theme', t)
    } catch {
      // private mode: not kept
    }
  })

  function toggleTheme(): void {
    theme.value = theme.value === 'dark' ? 'light' : 'dark'
  }

  function push(kind: Toast['kind'], title: string, text: string): void {
    toasts.value.push({ id: next++, kind, title, text })
  }

  function error(e: WarrenError, what?: string): void {
    const code = e.replyCode !== undefined ? `${e.replyCode} ${e.code}` : e.code
    push('error', what ? `${what} failed: ${code}` : code, e.message)
  }

  function take(): Toast[] {
    const out = toasts.value
    toasts.value = []
    return out
  }

  return { theme, toasts, toggleTheme, push, error, take }
})

/** Invokes a command; an error becomes a toast (showing the broker's reply code and text) unless `quiet`. */
export async function call<K extends CommandName>(command: K, request: CommandRequest<K>, what?: string, quiet = false): Promise<Result<CommandResponse<K>>> {
  let result: Result<CommandResponse<K>>
  try {
    result = (await getBridge().invoke(command, request)) as Result<CommandResponse<K>>
  } catch (e) {
    result = { ok: false, error: { code: 'BRIDGE_FAILED', message: e instanceof Error ? e.message : String(e) } }
  }
  if (!result.ok && !quiet) useUiStore().error(result.error, what ?? command)
  return result
}
