/**
 * The console window's hardening, as plain functions (only `import type` from electron) so that it is unit-tested
 * under Node (test/unit/shell/window-security.test.ts) with fakes shaped like Electron's objects:
 * - webPreferences: no Node integration anywhere (window, workers, sub-frames), context isolation, the sandbox, web
 *   security, no <webview>, no remote fonts/plugins tricks; the preload is the only bridge (window.warren);
 * - navigation: the window only ever shows our page; links, redirects and window.open are refused (an http(s)
 *   link a user clicks is not opened in the app);
 * - permissions (camera, notifications, geolocation...): every request and check is denied;
 * - <webview> attachment is refused even if something tried to enable it.
 * The Content-Security-Policy itself is a <meta> in renderer/index.html (checked by the same tests, in the source and
 * in the built out/renderer/index.html).
 */
import { pathToFileURL } from 'node:url'
import type { Session, WebContents, WebPreferences } from 'electron'

/** The webPreferences of the console window. */
export function consoleWebPreferences(preload: string): WebPreferences {
  return {
    preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  }
}

/**
 * Whether a URL is our own page: the built index.html (with a hash route or a query), or, under `electron-vite dev`,
 * a path on the dev server's origin.
 */
export function appUrlMatcher(options: { rendererIndex: string; devServerUrl?: string }): (url: string) => boolean {
  if (options.devServerUrl) {
    const origin = new URL(options.devServerUrl).origin
    return (url) => url.startsWith(origin + '/')
  }
  const index = pathToFileURL(options.rendererIndex).href
  return (url) => url === index || url.startsWith(index + '#') || url.startsWith(index + '?')
}

type Guarded = Pick<WebContents, 'on' | 'setWindowOpenHandler'>

/**
 * Keeps the window on our page: refuses navigation and redirects elsewhere, every window.open / target=_blank, and
 * <webview> attachment. `log` hears about each refusal.
 */
export function guardNavigation(contents: Guarded, isAppUrl: (url: string) => boolean, log?: (message: string) => void): void {
  contents.on('will-navigate', (event, url) => {
    if (isAppUrl(url)) return
    event.preventDefault()
    log?.(`blocked navigation to ${url}`)
  })
  contents.on('will-redirect', (event, url) => {
    if (isAppUrl(url)) return
    event.preventDefault()
    log?.(`blocked redirect to ${url}`)
  })
  contents.on('will-attach-webview', (event) => {
    event.preventDefault()
    log?.('blocked a <webview>')
  })
  contents.setWindowOpenHandler(({ url }) => {
    log?.(`blocked a new window for ${url}`)
    return { action: 'deny' }
  })
}

/** Denies every permission request and check (media, notifications, geolocation, clipboard-read...). */
export function denyAllPermissions(session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>): void {
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
}

/** The directives a console page's Content-Security-Policy must carry (see renderer/index.html). */
export const REQUIRED_CSP: Record<string, (sources: string[]) => boolean> = {
  'default-src': (s) => s.length === 1 && s[0] === "'self'",
  // no inline or evaluated script, no remote script
  'script-src': (s) => s.length === 1 && s[0] === "'self'",
  // the renderer talks only to its own origin (the web console) or IPC (the desktop app)
  'connect-src': (s) => s.every((source) => source === "'self'"),
}

/** Parses a CSP string into directive → sources. */
export function parseCsp(policy: string): Map<string, string[]> {
  const directives = new Map<string, string[]>()
  for (const part of policy.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/)
    if (name) directives.set(name.toLowerCase(), sources)
  }
  return directives
}

/** What is wrong with a page's CSP <meta> (empty when nothing): missing, or a required directive too loose. */
export function cspProblems(html: string): string[] {
  const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]*)"/i.exec(html)
  if (!meta) return ['no Content-Security-Policy <meta>']
  const directives = parseCsp(meta[1])
  const problems: string[] = []
  for (const [name, ok] of Object.entries(REQUIRED_CSP)) {
    const sources = directives.get(name)
    if (!sources) problems.push(`${name} is missing`)
    else if (!ok(sources)) problems.push(`${name} is too loose: ${sources.join(' ')}`)
  }
  for (const [name, sources] of directives) {
    if (sources.some((s) => s === "'unsafe-eval'" || s === '*' || s === 'http:' || s === 'https:')) problems.push(`${name} allows ${sources.join(' ')}`)
    if (name !== 'style-src' && sources.includes("'unsafe-inline'")) problems.push(`${name} allows 'unsafe-inline'`)
  }
  return problems
}
