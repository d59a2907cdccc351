/**
 * A small client of the management HTTP API for the scheduled area (the backend's own request helper is private):
 * the same base URL, credentials and error mapping (httpError) as ManagementBackend.
 */
import { httpError, type ManagementTarget } from '../management-backend'
import { ConsoleError } from '../profiles'

export type Json = Record<string, unknown>

export const enc = encodeURIComponent

export class ManagementApi {
  private readonly base: string
  private readonly auth: string

  constructor(target: Pick<ManagementTarget, 'managementUrl' | 'username' | 'password'>) {
    this.base = target.managementUrl.replace(/\/+$/, '')
    this.auth = 'Basic ' + Buffer.from(`${target.username}:${target.password}`).toString('base64')
  }

  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response
    try {
      response = await fetch(this.base + path, {
        method,
        headers: { authorization: this.auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      })
    } catch (e) {
      const cause = (e as { cause?: { code?: string } }).cause
      throw new ConsoleError('UNREACHABLE', `management API at ${this.base} did not answer: ${cause?.code ?? (e instanceof Error ? e.message : String(e))}`)
    }
    const text = await response.text()
    if (!response.ok) throw httpError(response.status, text)
    if (text === '') return undefined
    try {
      return JSON.parse(text)
    } catch {
      throw new ConsoleError('BAD_RESPONSE', `management API answered ${method} ${path} with something that is not JSON`)
    }
  }

  get(path: string): Promise<unknown> {
    return this.request('GET', path)
  }
}

export const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
export const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v))
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
export const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : [])
