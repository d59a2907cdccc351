/**
 * Electron hardening, checked without Electron (it cannot run here): the real main/shell/index.ts is loaded with
 * fakes shaped like Electron's app / BrowserWindow / webContents / session / ipcMain (and a fake console backend), and
 * the test looks at what it did: the window's webPreferences (no Node integration, context isolation, sandbox, web
 * security, no <webview>), navigation, redirects, window.open and <webview> refused, every permission denied, IPC
 * from a foreign frame refused. The Content-Security-Policy <meta> is checked in renderer/index.html and in the
 * built out/renderer/index.html.
 */
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { commandChannel } from '../../../main/contract'
import { appUrlMatcher, consoleWebPreferences, cspProblems, guardNavigation } from '../../../main/shell/window-security'

type Listener = (...args: unknown[]) => unknown

const fakes = vi.hoisted(() => {
  class FakeWebContents {
    readonly listeners = new Map<string, (...args: unknown[]) => unknown>()
    openHandler: ((details: { url: string }) => unknown) | undefined
    readonly mainFrame = { url: '' }
    on(event: string, listener: (...args: unknown[]) => unknown) {
      this.listeners.set(event, listener)
      return this
    }
    setWindowOpenHandler(handler: (details: { url: string }) => unknown) {
      this.openHandler = handler
    }
    isDestroyed() {
      return false
    }
    send() {}
  }
  const windows: FakeBrowserWindow[] = []
  class FakeBrowserWindow {
    readonly webContents = new FakeWebContents()
    loaded: string | undefined
    constructor(readonly options: { webPreferences: Record<string, unknown> }) {
      windows.push(this)
    }
    static getAllWindows() {
      return windows
    }
    once() {}
    on() {}
    show() {}
    loadFile(path: string) {
      this.loaded = path
      this.webContents.mainFrame.url = `file://${path}`
      return Promise.resolve()
    }
    loadURL(url: string) {
      this.loaded = url
      return Promise.resolve()
    }
  }
  let ready: () => void = () => {}
  const whenReady = new Promise<void>((r) => (ready = r))
  const session = {
    defaultSession: {
      requestHandler: undefined as undefined | ((...args: unknown[]) => void),
      checkHandler: undefined as undefined | ((...args: unknown[]) => boolean),
      setPermissionRequestHandler(handler: (...args: unknown[]) => void) {
        this.requestHandler = handler
      },
      setPermissionCheckHandler(handler: (...args: unknown[]) => boolean) {
        this.checkHandler = handler
      },
    },
  }
  const ipcHandlers = new Map<string, (...args: unknown[]) => unknown>()
  return {
    windows,
    FakeBrowserWindow,
    FakeWebContents,
    session,
    ipcHandlers,
    ready: () => ready(),
    app: { requestSingleInstanceLock: () => true, on() {}, whenReady: () => whenReady, getPath: () => '/tmp/warren-test-user-data', quit() {} },
    ipcMain: { handle: (channel: string, fn: (...args: unknown[]) => unknown) => void ipcHandlers.set(channel, fn), removeHandler() {} },
    safeStorage: { isEncryptionAvailable: () => false, encryptString: () => Buffer.alloc(0), decryptString: () => '' },
  }
})

vi.mock('electron', () => ({ app: fakes.app, BrowserWindow: fakes.FakeBrowserWindow, ipcMain: fakes.ipcMain, safeStorage: fakes.safeStorage, session: fakes.session }))
vi.mock('../../../main/console', () => ({
  createConsoleBackend: () => ({
    handlers: { 'broker.status': () => ({ state: 'running', port: 5672, amqpUrl: 'amqp://127.0.0.1:5672' }) },
    start: () => new Promise(() => {}),
    stop: () => Promise.resolve(),
  }),
}))

type Win = InstanceType<typeof fakes.FakeBrowserWindow>
let win: Win
const event = () => ({ preventDefault: vi.fn() })

beforeAll(async () => {
  delete process.env.ELECTRON_RENDERER_URL
  await import('../../../main/shell/index')
  fakes.ready()
  await vi.waitFor(() => expect(fakes.windows).toHaveLength(1))
  win = fakes.windows[0]
})

describe('the console window built by main/shell/index.ts', () => {
  it('has no Node integration, context isolation, the sandbox, web security, no <webview>; only the preload bridges', () => {
    const prefs = win.options.webPreferences
    expect(prefs).toMatchObject({
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      contextIsolation: true,
      sandbox: true,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    })
    expect(String(prefs.preload)).toMatch(/preload[/\\]preload\.cjs$/)
    expect(win.loaded).toMatch(/renderer[/\\]index\.html$/)
  })

  it('stays on its page: navigation and redirects elsewhere are prevented, its own hash routes are not', () => {
    const page = pathToFileURL(win.loaded!).href
    for (const name of ['will-navigate', 'will-redirect']) {
      const listener = win.webContents.listeners.get(name) as Listener
      expect(listener, name).toBeTypeOf('function')
      for (const url of ['https://evil.example/', 'file:///etc/passwd', 'http://127.0.0.1:15672/', `${page}.evil`]) {
        const e = event()
        listener(e, url)
        expect(e.preventDefault, `${name} ${url}`).toHaveBeenCalled()
      }
      const own = event()
      listener(own, `${page}#/queues`)
      expect(own.preventDefault).not.toHaveBeenCalled()
    }
  })

  it('opens no new windows and attaches no <webview>', () => {
    expect(win.webContents.openHandler?.({ url: 'https://evil.example/' })).toEqual({ action: 'deny' })
    expect(win.webContents.openHandler?.({ url: pathToFileURL(win.loaded!).href })).toEqual({ action: 'deny' })
    const e = event()
    ;(win.webContents.listeners.get('will-attach-webview') as Listener)(e, {}, {})
    expect(e.preventDefault).toHaveBeenCalled()
  })

  it('denies every permission request and check', () => {
    const { requestHandler, checkHandler } = fakes.session.defaultSession
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal']) {
      const callback = vi.fn()
      requestHandler!(win.webContents, permission, callback)
      expect(callback).toHaveBeenCalledWith(false)
      expect(checkHandler!(win.webContents, permission)).toBe(false)
    }
  })

  it('answers IPC only from its own top-level frame on its own page; a foreign frame gets FORBIDDEN', async () => {
    const handler = fakes.ipcHandlers.get(commandChannel('broker.status'))!
    const ours = await handler({ sender: win.webContents, senderFrame: win.webContents.mainFrame }, undefined)
    expect(ours).toMatchObject({ ok: true })
    const iframe = { url: win.webContents.mainFrame.url }
    expect(await handler({ sender: win.webContents, senderFrame: iframe }, undefined)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
    const other = new fakes.FakeWebContents()
    other.mainFrame.url = 'https://evil.example/'
    expect(await handler({ sender: other, senderFrame: other.mainFrame }, undefined)).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } })
  })
})

describe('window-security helpers', () => {
  it('consoleWebPreferences never turns a protection off', () => {
    const prefs = consoleWebPreferences('/x/preload.cjs')
    for (const key of ['nodeIntegration', 'nodeIntegrationInWorker', 'nodeIntegrationInSubFrames', 'webviewTag', 'allowRunningInsecureContent', 'experimentalFeatures']) expect(prefs[key as keyof typeof prefs], key).toBe(false)
    for (const key of ['contextIsolation', 'sandbox', 'webSecurity']) expect(prefs[key as keyof typeof prefs], key).toBe(true)
  })

  it('appUrlMatcher: the dev server origin only under electron-vite dev', () => {
    const dev = appUrlMatcher({ rendererIndex: '/app/out/renderer/index.html', devServerUrl: 'http://localhost:5173' })
    expect(dev('http://localhost:5173/#/queues')).toBe(true)
    expect(dev('http://localhost:5174/')).toBe(false)
    expect(dev('http://localhost:5173.evil.example/')).toBe(false)
  })

  it('guardNavigation logs each refusal', () => {
    const contents = new fakes.FakeWebContents()
    const log = vi.fn()
    guardNavigation(contents as never, () => false, log)
    ;(contents.listeners.get('will-navigate') as Listener)(event(), 'https://evil.example/')
    expect(log).toHaveBeenCalledWith('blocked navigation to https://evil.example/')
  })
})

describe('Content-Security-Policy', () => {
  const root = resolve(import.meta.dirname, '../../..')
  const pages = ['renderer/index.html', 'out/renderer/index.html'].filter((p) => p === 'renderer/index.html' || existsSync(resolve(root, p)))

  it.each(pages)('%s has a strict CSP <meta>: script-src and default-src self, connect-src self, no eval', (page) => {
    expect(cspProblems(readFileSync(resolve(root, page), 'utf8'))).toEqual([])
  })

  it('the check catches a missing or loose policy', () => {
    expect(cspProblems('<html><head></head></html>')).toEqual(['no Content-Security-Policy <meta>'])
    const loose = `<meta http-equiv="Content-Security-Policy" content="default-src *; script-src 'self' 'unsafe-eval' 'unsafe-inline'; connect-src 'self' https:">`
    const problems = cspProblems(loose)
    expect(problems).toContain('default-src is too loose: *')
    expect(problems).toContain("script-src is too loose: 'self' 'unsafe-eval' 'unsafe-inline'")
    expect(problems).toContain("connect-src is too loose: 'self' https:")
    expect(problems).toContain("script-src allows 'unsafe-inline'")
  })
})
