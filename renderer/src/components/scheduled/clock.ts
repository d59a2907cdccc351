import { ref } from 'vue'

/** One clock for every countdown on the page, ticking once a second while anything uses it. */
export const now = ref(Date.now())
let users = 0
let timer: ReturnType<typeof setInterval> | undefined

export function useClock(): () => void {
  if (users++ === 0) timer = setInterval(() => (now.value = Date.now()), 1000)
  return () => {
    if (--users === 0 && timer) {
      clearInterval(timer)
      timer = undefined
    }
  }
}
