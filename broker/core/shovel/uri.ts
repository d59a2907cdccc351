/**
 * The AMQP URIs of a shovel's ends, as RabbitMQ's amqp_uri reads them. `amqp://` with no host is RabbitMQ's direct
 * connection to the local node: Warren connects to its own AMQP listener as an internal user instead (no password in
 * the definition). Status listings show URIs without credentials or query, as RabbitMQ's shovel_management does.
 */

export interface ShovelEndpointUri {
  /** the URI as written in the definition */
  uri: string
  /** true for the local broker (`amqp://` or `amqp:///vhost`) */
  local: boolean
  /** the vhost of a local URI ('/' when the path is empty, like amqp_uri's default) */
  vhost: string
}

/** Parses one URI; returns a RabbitMQ-style reason text when it is not a valid AMQP URI. */
export function parseShovelUri(uri: string): ShovelEndpointUri | { error: string } {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(uri)
  if (!scheme) return { error: `${JSON.stringify(uri)} not a valid URI: {unable_to_parse_uri,{no_scheme,${JSON.stringify(uri)}}}` }
  const name = scheme[1].toLowerCase()
  if (name !== 'amqp' && name !== 'amqps') return { error: `${JSON.stringify(uri)} not a valid URI: {{unexpected_uri_scheme,${JSON.stringify(scheme[1])}},${JSON.stringify(uri)}}` }
  const rest = uri.slice(scheme[0].length)
  if (rest === '' || rest.startsWith('/') || rest.startsWith('?')) {
    // no host: the direct connection to this node
    if (name === 'amqps') return { error: `${JSON.stringify(uri)} not a valid URI: {direct_connection_over_tls_is_not_supported,${JSON.stringify(uri)}}` }
    const path = rest.split('?')[0].replace(/^\//, '')
    let vhost: string
    try {
      vhost = path === '' ? '/' : decodeURIComponent(path)
    } catch {
      return { error: `${JSON.stringify(uri)} not a valid URI: {unable_to_parse_uri,{malformed_uri,${JSON.stringify(uri)}}}` }
    }
    return { uri, local: true, vhost }
  }
  try {
    const parsed = new URL(uri)
    if (parsed.hostname === '') throw new Error('no host')
    if (parsed.pathname.length > 1) decodeURIComponent(parsed.pathname.slice(1))
  } catch {
    return { error: `${JSON.stringify(uri)} not a valid URI: {unable_to_parse_uri,{malformed_uri,${JSON.stringify(uri)}}}` }
  }
  return { uri, local: false, vhost: '' }
}

/** The URI without user, password and query, as RabbitMQ shows it in shovel status (amqp://host:port/vhost). */
export function redactUri(uri: string): string {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)/.exec(uri)
  if (!scheme) return uri
  let rest = uri.slice(scheme[1].length).split('?')[0]
  const slash = rest.indexOf('/')
  const authority = slash === -1 ? rest : rest.slice(0, slash)
  const at = authority.lastIndexOf('@')
  if (at !== -1) rest = authority.slice(at + 1) + (slash === -1 ? '' : rest.slice(slash))
  return scheme[1] + rest
}

/** The URL amqplib connects with: a remote URI as written; the local broker through its own listener. */
export function connectUrl(endpoint: ShovelEndpointUri, local: LocalBroker): string {
  if (!endpoint.local) return endpoint.uri
  const host = local.host === '0.0.0.0' || local.host === '' ? '127.0.0.1' : local.host === '::' ? '::1' : local.host
  const hostPart = host.includes(':') ? `[${host}]` : host
  return `amqp://${encodeURIComponent(local.user)}:${encodeURIComponent(local.password)}@${hostPart}:${local.port}/${encodeURIComponent(endpoint.vhost)}`
}

/** Where and how a shovel reaches the broker it runs in. */
export interface LocalBroker {
  host: string
  port: number
  user: string
  password: string
}
