/**
 * Preload of the console window (sandboxed, context-isolated; built as CommonJS, as sandboxed preloads must be).
 * Exposes the typed contract as `window.warren` and nothing else — never ipcRenderer itself.
 */
import { contextBridge, ipcRenderer } from 'electron'
import { createIpcBridge } from './bridge'

contextBridge.exposeInMainWorld('warren', createIpcBridge(ipcRenderer))
