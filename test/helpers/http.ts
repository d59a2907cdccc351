// Management HTTP API helpers: start the embedded broker with its HTTP API on free ports, call it with fetch.
import { afterAll, afterEach, beforeAll } from 'vitest'
import { startBroker, type BrokerHandle, type BrokerOptions } from '../../broker/index'
import { closeAllConnections } from './amqp'

/** JSON as the tests read it (field access without casts) */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any

export interface ApiResponse<T = Json> {
  status: number
  headers: Headers
  /** parsed JSON, or undefined for an empty body */
  body: T
  text: string
}

export interface HttpBroker {
  handle: BrokerHandle
  /** amqp://guest:guest@127.0.0.1:PORT */
  readonly amqpUrl: string
  readonly apiBase: string
  call<T = Json>(method: string, path: string, options?: { body?: unknown; rawBody?: string; user?: string; password?: string; auth?: false; headers?: Record<string, string> }): Promise<ApiResponse<T>>
  get<T = Json>(path: string, user?: string, password?: string): Promise<ApiResponse<T>>
}

const quietLogger = { info() {}, warn() {}, error: (m: string) => (process.env.WARREN_TEST_VERBOSE ? console.error('[broker]', m) : undefined) }

export async function startHttpBroker(options: BrokerOptions = {}): Promise<HttpBroker> {
  const handle = await startBroker({ port: 0, host: '127.0.0.1', httpPort: 0, logger: quietLogger, ...options })
  const apiBase = `http://127.0.0.1:${handle.httpPort}`
  const call: HttpBroker['call'] = async (method, path, o = {}) => {
    const headers: Record<string, string> = { ...(o.headers ?? {}) }
    if (o.auth !== false) headers.authorization = `Basic ${Buffer.from(`${o.user ?? 'guest'}:${o.password ?? o.user ?? 'guest'}`).toString('base64')}`
    let body: string | undefined
    if (o.rawBody !== undefined) body = o.rawBody
    else if (o.body !== undefined) body = JSON.stringify(o.body)
    if (body !== undefined) headers['content-type'] = 'application/json'
    const response = await fetch(apiBase + path, { method, headers, body })
    const text = await response.text()
    return { status: response.status, headers: response.headers, text, body: text === '' ? undefined : JSON.parse(text) }
  }
  return {
    handle,
    amqpUrl: `amqp://guest:guest@127.0.0.1:${handle.port}`,
    apiBase,
    call,
    get: (path, user, password) => call('GET', path, { user, password }),
  }
}

/** One broker with its HTTP API for a test file; AMQP connections made through the helpers close after each test. */
export function useHttpBroker(options: BrokerOptions = {}): { readonly b: HttpBroker } {
  const ctx = { b: undefined as unknown as HttpBroker }
  beforeAll(async () => {
    ctx.b = await startHttpBroker(options)
  })
  afterEach(async () => {
    await closeAllConnections()
  })
  afterAll(async () => {
    await ctx.b?.handle.close()
  })
  return ctx
}

export const enc = encodeURIComponent
