/**
 * main/shell/ipc.ts and main/shell/bridge.ts import only types from electron, so they run here with fakes shaped
 * like Electron's ipcMain / ipcRenderer / WebContents.
 */
import { describe, expect, it, vi } from 'vitest'
import type { IpcMainInvokeEvent, WebContents } from 'electron'
import { COMMAND_NAMES, commandChannel, eventChannel, type BrokerStatus, type CommandHandlers } from '../../../main/contract'
import { isTrustedSender, registerCommands, sendEvent, type TrustPolicy } from '../../../main/shell/ipc'
import { createIpcBridge, type IpcRendererLike } from '../../../main/shell/bridge'

const APP_URL = 'file:///app/out/renderer/index.html'

function fakeWebContents(url = APP_URL) {
  const mainFrame = { url }
  return { mainFrame, isDestroyed: () => false, send: vi.fn() }
}
type FakeWebContents = ReturnType<typeof fakeWebContents>

function policyFor(wc: FakeWebContents | undefined): TrustPolicy {
  return { webContents: () => wc as unknown as WebContents | undefined, isAppUrl: (u) => u === APP_URL }
}
function eventFrom(wc: FakeWebContents, frame: unknown = wc.mainFrame): IpcMainInvokeEvent {
  return { sender: wc, senderFrame: frame } as unknown as IpcMainInvokeEvent
}

function fakeIpcMain() {
  const handlers = new Map<string, (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown>()
  return {
    handlers,
    handle: (channel: string, fn: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown) => {
      if (handlers.has(channel)) throw new Error(`second handler for ${channel}`)
      handlers.set(channel, fn)
    },
    removeHandler: (channel: string) => void handlers.delete(channel),
  }
}

const status: BrokerStatus = { state: 'running', port: 5672, amqpUrl: 'amqp://127.0.0.1:5672' }
/** only the commands a test needs */
const some = (h: Partial<CommandHandlers>): CommandHandlers => h as CommandHandlers
const handlers = some({ 'broker.status': () => status })

describe('isTrustedSender', () => {
  const ours = fakeWebContents()
  it('trusts the main frame of our window on our page', () => {
    expect(isTrustedSender(eventFrom(ours), policyFor(ours))).toBe(true)
  })
  it('rejects other windows, sub-frames, foreign pages and a closed window', () => {
    const other = fakeWebContents()
    expect(isTrustedSender(eventFrom(other), policyFor(ours))).toBe(false)
    expect(isTrustedSender(eventFrom(ours, { url: APP_URL }), policyFor(ours))).toBe(false)
    expect(isTrustedSender(eventFrom(ours, null), policyFor(ours))).toBe(false)
    const foreign = fakeWebContents('https://evil.example/')
    expect(isTrustedSender(eventFrom(foreign), policyFor(foreign))).toBe(false)
    expect(isTrustedSender(eventFrom(ours), policyFor(undefined))).toBe(false)
    const closed = { ...fakeWebContents(), isDestroyed: () => true }
    expect(isTrustedSender(eventFrom(closed), policyFor(closed))).toBe(false)
  })
})

describe('registerCommands', () => {
  it('registers one handler per command and answers trusted callers with a Result', async () => {
    const ipc = fakeIpcMain()
    const ours = fakeWebContents()
    registerCommands(ipc, handlers, policyFor(ours))
    expect([...ipc.handlers.keys()]).toEqual(COMMAND_NAMES.map(commandChannel))
    const handler = ipc.handlers.get(commandChannel('broker.status'))!
    expect(await handler(eventFrom(ours), undefined)).toEqual({ ok: true, value: status })
  })

  it('answers untrusted callers with FORBIDDEN without running the handler', async () => {
    const ipc = fakeIpcMain()
    const spy = vi.fn(() => status)
    const log = vi.fn()
    registerCommands(ipc, some({ 'broker.status': spy }), policyFor(fakeWebContents()), log)
    const stranger = fakeWebContents()
    const result = await ipc.handlers.get(commandChannel('broker.status'))!(eventFrom(stranger), undefined)
    expect(result).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
    expect(spy).not.toHaveBeenCalled()
    expect(log).toHaveBeenCalledOnce()
  })

  it('returns a function that removes its handlers', () => {
    const ipc = fakeIpcMain()
    const dispose = registerCommands(ipc, handlers, policyFor(fakeWebContents()))
    dispose()
    expect(ipc.handlers.size).toBe(0)
  })
})

describe('sendEvent', () => {
  it('sends on the event channel, and skips missing or closed windows', () => {
    const wc = fakeWebContents()
    sendEvent(wc, 'broker.statusChanged', status)
    expect(wc.send).toHaveBeenCalledWith(eventChannel('broker.statusChanged'), status)
    sendEvent(undefined, 'broker.statusChanged', status)
    const closed = { isDestroyed: () => true, send: vi.fn() }
    sendEvent(closed, 'broker.statusChanged', status)
    expect(closed.send).not.toHaveBeenCalled()
  })
})

describe('createIpcBridge (the preload side)', () => {
  function fakeIpcRenderer(invoke: (channel: string, ...args: unknown[]) => Promise<unknown>) {
    const listeners = new Map<string, Set<(...args: unknown[]) => void>>()
    const ipc = {
      invoke: vi.fn(invoke),
      on: (channel: string, fn: (...args: unknown[]) => void) => {
        if (!listeners.has(channel)) listeners.set(channel, new Set())
        listeners.get(channel)!.add(fn)
        return ipc
      },
      removeListener: (channel: string, fn: (...args: unknown[]) => void) => {
        listeners.get(channel)?.delete(fn)
        return ipc
      },
      emit: (channel: string, payload: unknown) => listeners.get(channel)?.forEach((fn) => fn({}, payload)),
      count: (channel: string) => listeners.get(channel)?.size ?? 0,
    }
    return ipc
  }

  it('invokes commands on their channel and passes the Result through', async () => {
    const ipc = fakeIpcRenderer(async () => ({ ok: true, value: status }))
    const bridge = createIpcBridge(ipc as unknown as IpcRendererLike)
    expect(await bridge.invoke('broker.status', undefined)).toEqual({ ok: true, value: status })
    expect(ipc.invoke).toHaveBeenCalledWith(commandChannel('broker.status'), undefined)
  })

  it('turns transport failures and unknown commands into error results, without calling IPC for the latter', async () => {
    const ipc = fakeIpcRenderer(async () => {
      throw new Error('No handler registered')
    })
    const bridge = createIpcBridge(ipc as unknown as IpcRendererLike)
    expect(await bridge.invoke('broker.status', undefined)).toEqual({ ok: false, error: { code: 'IPC_FAILED', message: 'No handler registered' } })
    ipc.invoke.mockClear()
    const unknown = await (bridge.invoke as (c: string, r: unknown) => Promise<unknown>)('shell.exec', 'rm -rf /')
    expect(unknown).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } })
    expect(ipc.invoke).not.toHaveBeenCalled()
  })

  it('delivers events without the IPC event object and unsubscribes', () => {
    const ipc = fakeIpcRenderer(async () => undefined)
    const bridge = createIpcBridge(ipc as unknown as IpcRendererLike)
    const seen: unknown[] = []
    const off = bridge.on('broker.statusChanged', (s) => seen.push(s))
    ipc.emit(eventChannel('broker.statusChanged'), status)
    expect(seen).toEqual([status])
    off()
    expect(ipc.count(eventChannel('broker.statusChanged'))).toBe(0)
    expect(() => (bridge.on as (e: string, l: () => void) => void)('anything', () => {})).toThrow(/unknown event/)
  })
})
