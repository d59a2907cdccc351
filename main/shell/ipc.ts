/**
 * Typed IPC on the main side. Only `import type` from electron here, so this file is unit-tested under plain Node
 * (test/unit/shell/ipc.test.ts) with fakes shaped like Electron's objects.
 */
import type { IpcMain, IpcMainInvokeEvent, WebContents } from 'electron'
import {
  COMMAND_NAMES,
  commandChannel,
  dispatchCommand,
  err,
  eventChannel,
  type CommandHandlers,
  type EventName,
  type Result,
  type WarrenEvents,
} from '../contract'

/** Who may call us: the main frame of our own window, showing our own page. */
export interface TrustPolicy {
  /** the console window's WebContents, or undefined when there is no window */
  webContents: () => WebContents | undefined
  /** whether a frame URL is one of ours (the built index.html, or the dev server in `electron-vite dev`) */
  isAppUrl: (url: string) => boolean
}

type SenderEvent = Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>

export function isTrustedSender(event: SenderEvent, policy: TrustPolicy): boolean {
  const ours = policy.webContents()
  if (!ours || ours.isDestroyed() || event.sender !== ours) return false
  const frame = event.senderFrame
  // only the top-level frame: an iframe (even one of ours) gets nothing
  if (!frame || frame !== ours.mainFrame) return false
  return policy.isAppUrl(frame.url)
}

/**
 * Registers one ipcMain handler per command of the contract. Untrusted senders get `FORBIDDEN` (as data, like every
 * other error). Returns a function that removes the handlers.
 */
export function registerCommands(
  ipcMain: Pick<IpcMain, 'handle' | 'removeHandler'>,
  handlers: CommandHandlers,
  policy: TrustPolicy,
  log?: (message: string) => void,
): () => void {
  for (const name of COMMAND_NAMES) {
    ipcMain.handle(commandChannel(name), async (event, request: unknown): Promise<Result<unknown>> => {
      if (!isTrustedSender(event, policy)) {
        log?.(`rejected ${name} from an untrusted sender (${event.senderFrame?.url ?? 'no frame'})`)
        return err('FORBIDDEN', 'this window may not call Warren commands')
      }
      return dispatchCommand(handlers, name, request)
    })
  }
  return () => {
    for (const name of COMMAND_NAMES) ipcMain.removeHandler(commandChannel(name))
  }
}

/** Pushes an event to one window's renderer, if it is still there. */
export function sendEvent<E extends EventName>(
  target: Pick<WebContents, 'isDestroyed' | 'send'> | undefined,
  event: E,
  payload: WarrenEvents[E],
): void {
  if (!target || target.isDestroyed()) return
  target.send(eventChannel(event), payload)
}
