/**
 * GET /api/ha (a Warren extension, docs/http-api.md): the pair's members, roles and takeovers. A broker started
 * without a pair answers in the same shape with mode 'single'. The pair runner (pair.ts) registers its broker's
 * core here when it becomes active, so the management API's route (broker/http/routes/ha.ts) finds it without
 * any change to startBroker.
 */
import { hostname } from 'node:os'
import type { BrokerCore } from '../core/broker'

export type HaRole = 'active' | 'standby'

export interface HaMember {
  name: string
  role: 'active' | 'standby' | 'down'
  /** host:port of AMQP (the configured one while standby) */
  amqp: string
  http: string | null
  pid: number
  hostname: string
  started_at: number
  last_seen_at: number
  active_since: number | null
}

export interface HaTakeover {
  at: number
  node: string
  previous: string | null
  reason: 'start' | 'peer-died' | 'peer-stopped'
  /**
   * 'start': from taking the lock to accepting connections. 'peer-died'/'peer-stopped': from the last moment the
   * lock was seen held by the old active (an upper bound of the time since its death) to accepting connections.
   */
  took_ms: number
  /** of took_ms, the part spent before the lock was taken (lock polling) */
  lock_wait_ms?: number
  /** of took_ms, the part spent in startBroker (recovery of the data directory and listening) */
  recovery_ms?: number
}

export interface HaStatus {
  mode: 'single' | 'pair'
  node: string
  role: HaRole
  members: HaMember[]
  takeovers: HaTakeover[]
}

export interface HaSource {
  status(): HaStatus
}

const sources = new WeakMap<BrokerCore, HaSource>()

export function registerHaSource(core: BrokerCore, source: HaSource): void {
  sources.set(core, source)
}

export function haSourceOf(core: BrokerCore): HaSource | undefined {
  return sources.get(core)
}

/** 'host:port' with a wildcard bind given as this machine's name (what another machine would use). */
export function hostPort(boundHost: string, port: number): string {
  const host = boundHost === '0.0.0.0' || boundHost === '::' || boundHost === '' ? hostname() : boundHost
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`
}

/** The answer of a broker that is not part of a pair. */
export function singleStatus(info: {
  node: string
  startedAt: number
  listeners: { protocol: string; port: number; ip_address: string }[]
}): HaStatus {
  const amqp = info.listeners.find((l) => l.protocol === 'amqp')
  const http = info.listeners.find((l) => l.protocol === 'http' || l.protocol === 'https')
  const now = Date.now()
  return {
    mode: 'single',
    node: info.node,
    role: 'active',
    members: [
      {
        name: info.node,
        role: 'active',
        amqp: amqp ? hostPort(amqp.ip_address, amqp.port) : '',
        http: http ? hostPort(http.ip_address, http.port) : null,
        pid: process.pid,
        hostname: hostname(),
        started_at: info.startedAt,
        last_seen_at: now,
        active_since: info.startedAt,
      },
    ],
    takeovers: [],
  }
}
