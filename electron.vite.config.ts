/**
 * electron-vite build of the desktop app, with Warren's own folders instead of electron-vite's src/ defaults:
 *   main      main/shell/index.ts            → out/main/index.js   (package.json "main")
 *             main/console/broker-host.ts    → out/main/broker-host.js (run by the system `node`, not Electron)
 *   preload   main/shell/preload.ts          → out/preload/preload.cjs (CommonJS: sandboxed preloads must be)
 *   renderer  renderer/index.html            → out/renderer/
 */
import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'electron-vite'
import { resolve } from 'node:path'

const root = import.meta.dirname

export default defineConfig({
  main: {
    build: {
      // broker-host.js runs on the system Node (20+), index.js on Electron's newer Node: target the older one
      target: 'node20',
      rollupOptions: {
        input: {
          index: resolve(root, 'main/shell/index.ts'),
          'broker-host': resolve(root, 'main/console/broker-host.ts'),
        },
        // a native module built for Node's ABI: loaded from node_modules at run time, never bundled
        external: ['better-sqlite3'],
      },
    },
  },
  preload: {
    build: {
      rollupOptions: {
        input: { preload: resolve(root, 'main/shell/preload.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(root, 'renderer'),
    build: {
      rollupOptions: {
        input: resolve(root, 'renderer/index.html'),
      },
    },
    plugins: [vue()],
  },
})
