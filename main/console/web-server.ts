/**
 * The web console over HTTP: the built renderer as static files, the contract as POST /console/api/{command}
 * (JSON request body → JSON Result) and pushed events as server-sent events on GET /console/events.
 *
 * `createWebConsoleHandler` returns a handler (req, res) => true when it answered, false to let the caller go on:
 * the web console's own server (web-console.ts) then proxies the request to the broker's HTTP API in the broker's
 * process; the same shape also fits the broker HTTP server's `httpHandlers` hook.
 */
import { createReadStream, existsSync, statSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, normalize, resolve, sep } from 'node:path'
import { dispatchCommand, err, EVENT_NAMES, type CommandHandlers, type EventName, type WarrenEvents } from '../contract'

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>

export interface WebConsoleOptions {
  handlers: CommandHandlers
  /** the built renderer (index.html + assets); undefined = serve the API only */
  staticDir?: string
  /** the most bytes a command's request body may have (default 8 MiB: publish bodies) */
  maxBodyBytes?: number
}

export interface WebConsole {
  handler: HttpHandler
  emit<E extends EventName>(event: E, payload: WarrenEvents[E]): void
  /** how many event streams are open */
  clientCount(): number
  /** ends every event stream */
  close(): void
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

/** A browser page on another origin must not drive the console (CSRF): when Origin is sent it must match Host. */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin
  if (origin === undefined) return true
  try {
    return new URL(origin).host === req.headers.host
  } catch {
    return false
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        reject(Object.assign(new Error(`request body over ${limit} bytes`), { code: 'TOO_LARGE' }))
        // discard the rest, so the 413 reaches the client
        req.removeAllListeners('data')
        req.resume()
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolvePromise(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

export function createWebConsoleHandler(options: WebConsoleOptions): WebConsole {
  const clients = new Set<ServerResponse>()
  const staticRoot = options.staticDir ? resolve(options.staticDir) : undefined
  const limit = options.maxBodyBytes ?? 8 * 1024 * 1024

  const keepAlive = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n')
  }, 15_000)
  keepAlive.unref?.()

  async function command(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('allow', 'POST')
      return sendJson(res, 405, err('METHOD_NOT_ALLOWED', 'commands are POSTed'))
    }
    if (!sameOrigin(req)) return sendJson(res, 403, err('FORBIDDEN', 'cross-origin requests may not call Warren commands'))
    const type = req.headers['content-type'] ?? ''
    if (!type.startsWith('application/json')) return sendJson(res, 415, err('UNSUPPORTED_MEDIA_TYPE', 'send the request as application/json'))
    let request: unknown
    try {
      const text = await readBody(req, limit)
      request = text === '' ? undefined : JSON.parse(text)
    } catch (e) {
      const tooLarge = (e as { code?: string }).code === 'TOO_LARGE'
      return sendJson(res, tooLarge ? 413 : 400, err(tooLarge ? 'TOO_LARGE' : 'BAD_REQUEST', e instanceof Error ? e.message : String(e)))
    }
    // errors are data: a failed command is still HTTP 200 with { ok: false }
    sendJson(res, 200, await dispatchCommand(options.handlers, decodeURIComponent(name), request))
  }

  function events(req: IncomingMessage, res: ServerResponse): void {
    if (!sameOrigin(req)) return sendJson(res, 403, err('FORBIDDEN', 'cross-origin event streams are refused'))
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' })
    res.write('retry: 2000\n\n')
    clients.add(res)
    req.on('close', () => clients.delete(res))
  }

  function serveStatic(req: IncomingMessage, res: ServerResponse, pathname: string): boolean {
    if (!staticRoot || (req.method !== 'GET' && req.method !== 'HEAD')) return false
    if (pathname.startsWith('/api/') || pathname === '/api') return false
    const rel = pathname === '/' || pathname === '/console' || pathname === '/console/' ? 'index.html' : pathname.replace(/^\/+/, '')
    let path: string
    try {
      path = normalize(join(staticRoot, decodeURIComponent(rel)))
    } catch {
      return false
    }
    if (path !== staticRoot && !path.startsWith(staticRoot + sep)) return false
    if (!existsSync(path) || !statSync(path).isFile()) return false
    res.writeHead(200, {
      'content-type': TYPES[extname(path)] ?? 'application/octet-stream',
      'cache-control': rel === 'index.html' ? 'no-cache' : 'public, max-age=3600',
      'x-content-type-options': 'nosniff',
    })
    if (req.method === 'HEAD') res.end()
    else createReadStream(path).pipe(res)
    return true
  }

  const handler: HttpHandler = async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const m = /^\/console\/api\/([^/]+)$/.exec(url.pathname)
    if (m) {
      await command(req, res, m[1]!)
      return true
    }
    if (url.pathname === '/console/events') {
      events(req, res)
      return true
    }
    return serveStatic(req, res, url.pathname)
  }

  return {
    handler,
    emit(event, payload) {
      if (!EVENT_NAMES.includes(event)) return
      const frame = `event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`
      for (const c of clients) c.write(frame)
    },
    clientCount: () => clients.size,
    close() {
      clearInterval(keepAlive)
      for (const c of clients) c.end()
      clients.clear()
    },
  }
}
