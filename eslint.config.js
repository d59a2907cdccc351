// ESLint flat config. `npm run lint` = `eslint .`
//
// Besides typescript-eslint's recommended rules, this file enforces which folder may import which, with
// no-restricted-imports. The rules, by where code runs:
//   broker/**                 the broker: may not import main/**, renderer/** or electron
//   renderer/**               the UI: may not import broker/**, nor main/** except main/contract/**, nor electron
//   main/** (not main/shell)  the console backend and the contract: may not import electron (nor renderer/**)
//   main/shell/**             the only Electron code
// and inside broker/, the layers protocol → amqp → core → store:
//   broker/protocol/**  imports none of amqp/, core/, store/      broker/core/**   may not import amqp/
//   broker/amqp/**      may not import store/ (it goes via core)  broker/store/**  imports none of protocol/, amqp/, core/
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

/** regex for a relative import that climbs exactly `up` levels and then enters `folder` (but not `folder/except`) */
function climbInto(up, folder, except) {
  const dots = up === 0 ? '\\./' : `(?:\\.\\./){${up}}`
  const rest = except ? `(?:$|/(?!${except}(?:/|$)))` : '(?:/|$)'
  return `^${dots}${folder}${rest}`
}

/**
 * One config block per folder depth for the files of `area` (a folder; `ignore` excludes sub-folders that have
 * blocks of their own). Each rule names a folder relative to the repository root (`root: true`) or to broker/.
 * A later block replaces an earlier one's no-restricted-imports entirely, so a sub-area's blocks repeat the
 * rules of the area around it.
 */
function restrictImports(area, rules, { ignore = [], allowElectron = false } = {}) {
  const areaDepth = area.split('/').length
  const blocks = []
  for (let depth = areaDepth; depth < areaDepth + MAX_DEPTH; depth++) {
    const patterns = rules.map(({ folder, except, message, root = true }) => ({
      regex: climbInto(root ? depth : depth - 1, folder, except),
      message,
    }))
    blocks.push({
      name: `warren/import-direction/${area}/depth-${depth}`,
      files: [`${area}/${'*/'.repeat(depth - areaDepth)}*.${SOURCE}`],
      ignores: ignore,
      rules: {
        'no-restricted-imports': [
          'error',
          allowElectron ? { patterns } : { paths: [electron], patterns: [electronSubpaths, ...patterns] },
        ],
      },
    })
  }
  return blocks
}

const BROKER_RULES = [
  { folder: 'main', message: 'broker/ may not import main/: the broker knows nothing of the console.' },
  { folder: 'renderer', message: 'broker/ may not import renderer/.' },
]
/** inside broker/: protocol → amqp → core → store; nothing points back up toward amqp */
const upward = (layer, folder) => ({
  root: false,
  folder,
  message: `broker/${layer}/ may not import broker/${folder}/ (layers: protocol → amqp → core → store).`,
})
const BROKER_LAYERS = ['broker/protocol/**', 'broker/amqp/**', 'broker/core/**', 'broker/store/**']

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
  ...restrictImports('broker', BROKER_RULES, { ignore: BROKER_LAYERS }),
  ...restrictImports('broker/protocol', [...BROKER_RULES, upward('protocol', 'amqp'), upward('protocol', 'core'), upward('protocol', 'store')]),
  ...restrictImports('broker/amqp', [...BROKER_RULES, upward('amqp', 'store')]),
  ...restrictImports('broker/core', [...BROKER_RULES, upward('core', 'amqp')]),
  ...restrictImports('broker/store', [...BROKER_RULES, upward('store', 'protocol'), upward('store', 'amqp'), upward('store', 'core')]),
  ...restrictImports('renderer', [
    { folder: 'broker', message: 'renderer/ may not import broker/: talk to the backend through window.warren (main/contract).' },
    { folder: 'main', except: 'contract', message: 'renderer/ may import only main/contract/ from main/.' },
  ]),
  ...restrictImports('main', [{ folder: 'renderer', message: 'main/ may not import renderer/.' }], { ignore: ['main/shell/**'] }),
  ...restrictImports('main/shell', [{ folder: 'renderer', message: 'main/ may not import renderer/.' }], { allowElectron: true }),
)
