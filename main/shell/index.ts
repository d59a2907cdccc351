/**
 * Electron main process: app lifecycle and the console window. Everything else lives in main/console (no Electron);
 * this file only wires it to Electron: paths in, IPC through ipc.ts, events out to the window.
 */
import { app, BrowserWindow, ipcMain, safeStorage, session } from 'electron'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createConsoleBackend, type ConsoleBackend } from '../console'
import type { SqlDatabase } from '../console/profiles'
import { registerCommands, sendEvent } from './ipc'
import { SafeStorageSecretBox } from './safe-storage'
import { appUrlMatcher, consoleWebPreferences, denyAllPermissions, guardNavigation } from './window-security'

const here = dirname(fileURLToPath(import.meta.url))
/** built by electron-vite next to this file (see electron.vite.config.ts) */
const BROKER_HOST_SCRIPT = join(here, 'broker-host.js')
const PRELOAD_SCRIPT = join(here, '../preload/preload.cjs')
const RENDERER_INDEX = join(here, '../renderer/index.html')
const DEV_SERVER_URL = process.env.ELECTRON_RENDERER_URL

/**
 * The console's database in Electron's main process: Node's built-in node:sqlite (Electron 45 ships Node 22), since
 * the better-sqlite3 in node_modules is built for the system Node that runs the broker host, not for Electron.
 */
function openConsoleDatabase(path: string): SqlDatabase {
  const { DatabaseSync } = createRequire(import.meta.url)('node:sqlite') as { DatabaseSync: new (path: string) => SqlDatabase }
  return new DatabaseSync(path)
}

let mainWindow: BrowserWindow | undefined
let backend: ConsoleBackend | undefined

function log(level: 'info' | 'warn' | 'error', message: string): void {
  console[level === 'info' ? 'log' : level](`[warren ${level}] ${message}`)
}

const isAppUrl = appUrlMatcher({ rendererIndex: RENDERER_INDEX, devServerUrl: DEV_SERVER_URL })

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1100,
    height: 720,
    show: false,
    title: 'Warren',
    // hardening (main/shell/window-security.ts, unit-tested): sandbox, context isolation, no Node integration
    webPreferences: consoleWebPreferences(PRELOAD_SCRIPT),
  })
  win.once('ready-to-show', () => win.show())
  // The console is a single page: no navigation away, no redirects, no new windows, no <webview>.
  guardNavigation(win.webContents, isAppUrl, (m) => log('warn', m))
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = undefined
  })
  if (DEV_SERVER_URL) void win.loadURL(DEV_SERVER_URL)
  else void win.loadFile(RENDERER_INDEX)
  return win
}

if (!app.requestSingleInstanceLock()) {
  // A second copy would fight the first for the AMQP port and the broker's store.
  app.quit()
} else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore()
      mainWindow.focus()
    }
  })

  void app.whenReady().then(() => {
    denyAllPermissions(session.defaultSession)
    backend = createConsoleBackend({
      userDataDir: app.getPath('userData'),
      hostScript: BROKER_HOST_SCRIPT,
      secrets: new SafeStorageSecretBox(safeStorage),
      openDatabase: openConsoleDatabase,
      emit: (event, payload) => sendEvent(mainWindow?.webContents, event, payload),
      log,
    })
    registerCommands(ipcMain, backend.handlers, { webContents: () => mainWindow?.webContents, isAppUrl }, (m) => log('warn', m))
    mainWindow = createWindow()
    void backend.start().then((status) => {
      if (status.state === 'running') log('info', `embedded broker listening on ${status.amqpUrl}, data in ${status.dataDir}`)
      else log('error', `embedded broker did not start: ${status.error?.message ?? status.state}`)
    })

    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) mainWindow = createWindow()
    })
  })

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })

  // Stop the broker (close connections, flush the store) before the app exits.
  let stopped = false
  app.on('before-quit', (event) => {
    if (stopped || !backend) return
    event.preventDefault()
    void backend.stop().finally(() => {
      stopped = true
      app.quit()
    })
  })
}
