/**
 * WarrenBridge over HTTP, for the web console: commands are POSTed to /console/api/{command} and answer a Result;
 * events arrive on one EventSource (/console/events). Same interface as the desktop preload's IPC bridge.
 */
import {
  err,
  isCommandName,
  isEventName,
  type CommandName,
  type CommandRequest,
  type EventName,
  type Result,
  type WarrenBridge,
  type WarrenCommands,
  type WarrenEvents,
} from '../../main/contract'

export interface WebBridgeOptions {
  /** origin + path prefix of the console, default '' (same origin) */
  base?: string
  fetch?: typeof fetch
  EventSource?: typeof EventSource
}

export function createWebBridge(options: WebBridgeOptions = {}): WarrenBridge {
  const base = options.base ?? ''
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init))
  const ES = options.EventSource ?? (typeof EventSource !== 'undefined' ? EventSource : undefined)
  const listeners = new Map<EventName, Set<(payload: never) => void>>()
  let source: EventSource | undefined
  const attached = new Set<EventName>()

  function attach(event: EventName): void {
    if (!ES) return
    source ??= new ES(`${base}/console/events`)
    if (attached.has(event)) return
    attached.add(event)
    source.addEventListener(event, (e) => {
      let payload: unknown
      try {
        payload = JSON.parse((e as MessageEvent<string>).data)
      } catch {
        return
      }
      for (const l of listeners.get(event) ?? []) (l as (p: unknown) => void)(payload)
    })
  }

  return {
    invoke<K extends CommandName>(command: K, request: CommandRequest<K>): ReturnType<WarrenCommands[K]> {
      const call = async (): Promise<Result<unknown>> => {
        if (!isCommandName(command)) return err('UNKNOWN_COMMAND', `unknown command: ${String(command)}`)
        try {
          const response = await doFetch(`${base}/console/api/${encodeURIComponent(command)}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: request === undefined ? '' : JSON.stringify(request),
          })
          const text = await response.text()
          try {
            const parsed = JSON.parse(text) as Result<unknown>
            if (typeof parsed === 'object' && parsed !== null && typeof parsed.ok === 'boolean') return parsed
          } catch {
            // fall through
          }
          return err('HTTP_FAILED', `console server answered ${response.status} ${response.statusText}`)
        } catch (e) {
          return err('HTTP_FAILED', `console server unreachable: ${e instanceof Error ? e.message : String(e)}`)
        }
      }
      return call() as ReturnType<WarrenCommands[K]>
    },
    on<E extends EventName>(event: E, listener: (payload: WarrenEvents[E]) => void): () => void {
      if (!isEventName(event)) throw new Error(`unknown event: ${String(event)}`)
      let set = listeners.get(event)
      if (!set) listeners.set(event, (set = new Set()))
      set.add(listener as (payload: never) => void)
      attach(event)
      return () => {
        set.delete(listener as (payload: never) => void)
      }
    },
  }
}
