/**
 * Cross-site request refusal for the management HTTP API.
 *
 * The API authenticates with HTTP basic auth, which a browser replays on its own for any page that makes a request to
 * the API's origin, and `guest`/`guest` is well known: a page on another site must not be able to drive the API
 * through the user's browser (CSRF), nor read from it. RabbitMQ's management plugin relies on CORS for this (no
 * `management.cors.allow_origins` by default, so a browser keeps the answers from a foreign page, but a cross-site
 * form POST still reaches the broker). Warren refuses the request itself, before authentication and before any
 * change, for every method:
 *
 * - `Sec-Fetch-Site` (sent by every current browser) other than `same-origin` or `none` (a typed URL, a bookmark);
 *   `same-site` is refused too, since another port of the same host is another program;
 * - an `Origin` header (sent by browsers on cross-origin requests and on every POST/PUT/DELETE) whose host:port is not
 *   the one the request was sent to, or `Origin: null` (sandboxed frames, file: pages);
 * - from a browser, a `Host` header that does not name this machine when the API listens on loopback only: a
 *   DNS-rebinding page (evil.example resolving to 127.0.0.1) is "same-origin" to the browser, but its requests carry
 *   its own host name. Requests that are not from a browser (no Sec-Fetch-*, no Origin, no "Mozilla/" user agent:
 *   rabbitmqadmin, curl, the web console's proxy forwarding them) may use any name a proxy in front gives them.
 *
 * Clients that are not browsers (rabbitmqadmin, curl, amqplib tools, the console backend) send none of these headers
 * and are not affected; neither is the web console served from the API's own port, whose requests are same-origin.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { isIP } from 'node:net'

export interface CrossSiteVerdict {
  /** why the request was refused, for the 403's reason; undefined when it may go on */
  refused?: string
}

/** Whether an address is loopback (127.0.0.0/8, ::1, IPv4-mapped loopback). */
export function isLoopbackAddress(address: string | undefined): boolean {
  return !!address && (address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.'))
}

/** The host part of a Host header value ("[::1]:15672" → "::1", "localhost:80" → "localhost"). */
function hostName(hostHeader: string): string {
  const trimmed = hostHeader.trim().toLowerCase()
  if (trimmed.startsWith('[')) return trimmed.slice(1, trimmed.indexOf(']') < 0 ? undefined : trimmed.indexOf(']'))
  const colon = trimmed.lastIndexOf(':')
  return colon < 0 ? trimmed : trimmed.slice(0, colon)
}

/**
 * Host names a loopback-only API answers to: IP literals (an address cannot be rebound) and localhost names.
 * `allowed` adds names (e.g. a host name the user proxies through).
 */
export function isAcceptableHost(hostHeader: string | undefined, allowed: readonly string[] = []): boolean {
  if (hostHeader === undefined || hostHeader.trim() === '') return true // HTTP/1.0 clients; no browser omits it
  const name = hostName(hostHeader)
  if (name === 'localhost' || name.endsWith('.localhost')) return true
  if (isIP(name) !== 0) return true
  return allowed.some((a) => a.toLowerCase() === name)
}

/** The verdict for one request's headers (see the file comment). */
export function crossSiteCheck(headers: IncomingHttpHeaders, options: { loopbackOnly: boolean; allowedHosts?: readonly string[] }): CrossSiteVerdict {
  const site = headers['sec-fetch-site']
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    return { refused: `cross-site request refused (Sec-Fetch-Site: ${site})` }
  }
  const host = headers.host
  const origin = headers.origin
  if (origin !== undefined) {
    if (origin === 'null') return { refused: 'cross-site request refused (Origin: null)' }
    let originHost: string
    try {
      originHost = new URL(origin).host
    } catch {
      return { refused: 'cross-site request refused (malformed Origin)' }
    }
    if (host === undefined || originHost.toLowerCase() !== normaliseHost(host)) {
      return { refused: `cross-site request refused (Origin ${origin} is not this server)` }
    }
  }
  if (options.loopbackOnly && fromBrowser(headers) && !isAcceptableHost(host, options.allowedHosts)) {
    return { refused: `request for host '${hostName(host ?? '')}' refused: this API answers on loopback only (DNS rebinding?)` }
  }
  return {}
}

/** Whether a request comes from a web browser: fetch metadata, an Origin, or a browser's user agent. */
export function fromBrowser(headers: IncomingHttpHeaders): boolean {
  if (headers.origin !== undefined) return true
  if (Object.keys(headers).some((name) => name.startsWith('sec-fetch-'))) return true
  return /\bMozilla\//.test(headers['user-agent'] ?? '')
}

/** A Host header as URL.host writes it: lower case, default ports dropped. */
function normaliseHost(host: string): string {
  try {
    return new URL(`http://${host.trim()}`).host.toLowerCase()
  } catch {
    return host.trim().toLowerCase()
  }
}
