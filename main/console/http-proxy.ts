/**
 * A small reverse proxy: the web console forwards every request it does not answer itself (the management HTTP
 * API under /api/..., and anything else the broker answers, 404s included) to the broker host process's HTTP API
 * on loopback. Bodies are streamed both ways; status codes and headers pass through unchanged, except the
 * hop-by-hop headers a proxy must not forward (RFC 9110 §7.6.1).
 */
import { Agent, request, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http'

export interface ProxyTarget {
  host: string
  port: number
}

export interface HttpProxyOptions {
  /** where to send requests now; undefined while the broker is not running (the proxy answers 503) */
  target: () => ProxyTarget | undefined
  /** why there is no target, for the 503's reason (e.g. the broker's failure) */
  unavailableReason?: () => string
  /** how long the broker may take to start answering (default 60 s: a big definitions import is slow) */
  timeoutMs?: number
  /**
   * the Host to forward instead of the client's (with a same-origin Origin rewritten to match). For a console bound
   * to a non-loopback address: the broker listens on loopback and so refuses browser requests naming another host
   * (its DNS-rebinding check), which here is simply the name users reach the console by. Cross-origin requests keep
   * their Origin, so the broker still refuses them.
   */
  forwardHost?: () => string | undefined
}

export interface HttpProxy {
  handle(req: IncomingMessage, res: ServerResponse): void
  /** drops the pooled connections to the broker */
  close(): void
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'upgrade'])

/** Host and a same-origin Origin as `host`; anything else unchanged. */
function withHost(headers: OutgoingHttpHeaders, host: string | undefined): OutgoingHttpHeaders {
  if (host === undefined) return headers
  const out = { ...headers, host }
  const origin = headers.origin
  if (typeof origin === 'string' && typeof headers.host === 'string') {
    try {
      if (new URL(origin).host === new URL(`http://${headers.host}`).host) out.origin = `http://${host}`
    } catch {
      // a malformed Origin goes on as it is; the broker refuses it
    }
  }
  return out
}

function forwardable(headers: IncomingMessage['headers'] | OutgoingHttpHeaders): OutgoingHttpHeaders {
  // headers named in Connection are hop-by-hop too
  const named = String(headers.connection ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter(Boolean)
  const out: OutgoingHttpHeaders = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.includes(name)) continue
    out[name] = value
  }
  return out
}

/** RabbitMQ's error shape, so API clients see the same kind of body as from the broker itself. */
function fail(res: ServerResponse, status: number, error: string, reason: string): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const body = JSON.stringify({ error, reason })
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-cache', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}

export function createHttpProxy(options: HttpProxyOptions): HttpProxy {
  // pooled connections: the console's own calls go through here every tick
  const agent = new Agent({ keepAlive: true, maxSockets: 32, maxFreeSockets: 8 })
  const timeoutMs = options.timeoutMs ?? 60_000

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const target = options.target()
    if (!target) {
      req.resume()
      fail(res, 503, 'service_unavailable', `the broker is not running${options.unavailableReason ? `: ${options.unavailableReason()}` : ''}`)
      return
    }
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: withHost(forwardable(req.headers), options.forwardHost?.()),
      agent,
      timeout: timeoutMs,
    })
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, forwardable(answer.headers))
      answer.pipe(res)
      answer.on('error', () => res.destroy())
    })
    upstream.on('timeout', () => upstream.destroy(new Error(`no answer from the broker within ${timeoutMs} ms`)))
    upstream.on('error', (e: NodeJS.ErrnoException) => {
      if (res.writableEnded || res.destroyed) return
      fail(res, 502, 'bad_gateway', `the broker's HTTP API did not answer: ${e.message}`)
    })
    // the client went away before the answer was complete: stop asking the broker
    res.on('close', () => {
      if (!res.writableFinished) upstream.destroy()
    })
    req.pipe(upstream)
  }

  return {
    handle,
    close: () => agent.destroy(),
  }
}
