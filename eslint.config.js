// ESLint flat config. `npm run lint` = `eslint .`
//
// Besides typescript-eslint's recommended rules, this file enforces which folder may import which, with
// no-restricted-imports. The rules, by where code runs:
//   broker/**                 the broker: may not import main/**, renderer/** or electron
//   renderer/**               the UI: may not import broker/**, nor main/** except main/contract/**, nor electron
//   main/** (not main/shell)  the console backend and the contract: may not import electron (nor renderer/**)
//   main/shell/**             the only Electron code
//
// no-restricted-imports sees only the import string, so the relative-path patterns are written per folder depth:
// for a file N folders below the repository root, the root is exactly N times "../". That way "../broker" inside
// renderer/src/ (renderer/broker) is not mistaken for the root broker/ folder.
import { defineConfig } from 'eslint/config'
import tseslint from 'typescript-eslint'

const MAX_DEPTH = 10
const SOURCE = '{ts,mts,cts,tsx,js,mjs,cjs}'

const electron = {
  name: 'electron',
  message: 'Only main/shell/ may import electron (the console backend stays testable and reusable by a web console).',
}
const electronSubpaths = {
  regex: '^electron/',
  message: electron.message,
}

/** regex for a relative import that climbs exactly `depth` levels (to the repository root) and enters `folder` */
function fromRoot(depth, folder, except) {
  const up = depth === 0 ? '\\./' : `(?:\\.\\./){${depth}}`
  const rest = except ? `(?:$|/(?!${except}(?:/|$)))` : '(?:/|$)'
  return `^${up}${folder}${rest}`
}

/** one config block per depth, for the files of `area` at that depth */
function restrictImports(area, rules) {
  const blocks = []
  for (let depth = 1; depth <= MAX_DEPTH; depth++) {
    const patterns = rules.map(({ folder, except, message }) => ({ regex: fromRoot(depth, folder, except), message }))
    blocks.push({
      name: `warren/import-direction/${area}/depth-${depth}`,
      files: [`${area}/${'*/'.repeat(depth - 1)}*.${SOURCE}`],
      ignores: area === 'main' ? ['main/shell/**'] : [],
      rules: {
        'no-restricted-imports': ['error', { paths: area === 'main/shell' ? [] : [electron], patterns: [electronSubpaths, ...patterns] }],
      },
    })
  }
  return blocks
}

export default defineConfig(
  {
    name: 'warren/ignores',
    ignores: ['node_modules/**', 'out/**', 'dist/**', 'data/**', 'coverage/**', '**/*.generated.ts'],
  },
  tseslint.configs.recommended,
  {
    name: 'warren/defaults',
    files: [`**/*.${SOURCE}`],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  ...restrictImports('broker', [
    { folder: 'main', message: 'broker/ may not import main/: the broker knows nothing of the console.' },
    { folder: 'renderer', message: 'broker/ may not import renderer/.' },
  ]),
  ...restrictImports('renderer', [
    { folder: 'broker', message: 'renderer/ may not import broker/: talk to the backend through window.warren (main/contract).' },
    { folder: 'main', except: 'contract', message: 'renderer/ may import only main/contract/ from main/.' },
  ]),
  ...restrictImports('main', [{ folder: 'renderer', message: 'main/ may not import renderer/.' }]),
)
