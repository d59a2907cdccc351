/** JSON helpers of the scheduled area (its management API client is ManagementHttp, from management-backend.ts). */

export type Json = Record<string, unknown>

export const enc = encodeURIComponent

export const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {})
export const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v))
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
export const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : [])
