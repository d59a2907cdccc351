// Builds the renderer once for the e2e tests (vite, into node_modules/.cache), keyed by the sources' sizes and
// modification times, so a second run with unchanged sources reuses the build.
import vue from '@vitejs/plugin-vue'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { build } from 'vite'

const ROOT = resolve(import.meta.dirname, '../../..')

function fingerprint(): string {
  const hash = createHash('sha256')
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name)
      const s = statSync(path)
      if (s.isDirectory()) walk(path)
      else hash.update(`${path}:${s.size}:${s.mtimeMs}\n`)
    }
  }
  walk(join(ROOT, 'renderer'))
  walk(join(ROOT, 'main/contract'))
  hash.update(statSync(join(ROOT, 'package-lock.json')).mtimeMs.toString())
  return hash.digest('hex').slice(0, 16)
}

export async function ensureRendererBuilt(): Promise<string> {
  const out = join(ROOT, 'node_modules/.cache/warren-e2e-renderer', fingerprint())
  if (existsSync(join(out, 'index.html'))) return out
  const tmp = `${out}.tmp-${process.pid}`
  await build({
    configFile: false,
    root: join(ROOT, 'renderer'),
    base: './',
    logLevel: 'warn',
    plugins: [vue()],
    build: { outDir: tmp, emptyOutDir: true, reportCompressedSize: false, chunkSizeWarningLimit: 4096 },
  })
  rmSync(out, { recursive: true, force: true })
  renameSync(tmp, out)
  return out
}
