/**
 * The desktop implementation of WarrenBridge, over ipcRenderer. Built as a function of an ipcRenderer-shaped
 * object (type-only electron import) so it is unit-tested without Electron; preload.ts exposes its result.
 *
 * The object it returns holds only functions that call fixed channels: the renderer never gets ipcRenderer, and
 * cannot reach a channel that is not in the contract.
 */
import type { IpcRenderer, IpcRendererEvent } from 'electron'
import {
  commandChannel,
  err,
  eventChannel,
  isCommandName,
  isEventName,
  toWarrenError,
  type CommandName,
  type CommandRequest,
  type EventName,
  type Result,
  type WarrenBridge,
  type WarrenCommands,
  type WarrenEvents,
} from '../contract'

export type IpcRendererLike = Pick<IpcRenderer, 'invoke' | 'on' | 'removeListener'>

export function createIpcBridge(ipc: IpcRendererLike): WarrenBridge {
  return {
    invoke<K extends CommandName>(command: K, request: CommandRequest<K>): ReturnType<WarrenCommands[K]> {
      const call = async (): Promise<Result<unknown>> => {
        if (!isCommandName(command)) return err('UNKNOWN_COMMAND', `unknown command: ${String(command)}`)
        try {
          return (await ipc.invoke(commandChannel(command), request)) as Result<unknown>
        } catch (e) {
          return { ok: false, error: toWarrenError(e, 'IPC_FAILED') }
        }
      }
      return call() as ReturnType<WarrenCommands[K]>
    },
    on<E extends EventName>(event: E, listener: (payload: WarrenEvents[E]) => void): () => void {
      if (!isEventName(event)) throw new Error(`unknown event: ${String(event)}`)
      const channel = eventChannel(event)
      const wrapped = (_e: IpcRendererEvent, payload: WarrenEvents[E]): void => listener(payload)
      ipc.on(channel, wrapped)
      return () => {
        ipc.removeListener(channel, wrapped)
      }
    },
  }
}
