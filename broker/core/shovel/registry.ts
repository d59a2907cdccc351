/**
 * The broker's runtime parameters of component `shovel` and their workers: set (validate, store, start or restart),
 * clear (stop, delete), list, status and restart, as rabbitmq_shovel's dynamic shovels. Parameters are loaded from the
 * store when the core is created; the workers start once the broker listens (start()) and stop when it closes.
 */
import type { ParameterRecord, Store } from '../../store/store'
import { notFound, preconditionFailed } from '../errors'
import { parseShovelDefinition, readDefinition, validationReason, type ShovelDefinition } from './definition'
import { redactUri, type LocalBroker } from './uri'
import { NODE_NAME, ShovelWorker, type ShovelState } from './worker'

export const SHOVEL_COMPONENT = 'shovel'

/** A runtime parameter as the API shows it. */
export interface RuntimeParameter {
  vhost: string
  component: string
  name: string
  value: Record<string, unknown>
}

/** One shovel's status, in RabbitMQ's shovel_management shape; the last four fields are Warren's additions. */
export interface ShovelStatus {
  node: string
  timestamp: string
  name: string
  vhost: string
  type: 'dynamic'
  state: ShovelState
  reason?: string
  src_uri?: string
  src_protocol?: string
  dest_protocol?: string
  dest_uri?: string
  src_queue?: string
  src_exchange?: string
  src_exchange_key?: string
  dest_queue?: string
  dest_exchange?: string
  dest_exchange_key?: string
  messages_transferred: number
  last_error: string | null
  last_error_at: string | null
}

/** What the registry needs of the core: the store, which vhosts exist, and who may use a local vhost. */
export interface ShovelHost {
  readonly store: Store
  hasVhost(name: string): boolean
  /** whether a user may connect to a vhost (for amqp:// URIs, as RabbitMQ checks the direct connection's user) */
  mayConnect(user: string, vhost: string): boolean
  /** the credentials of the broker's internal AMQP user */
  readonly internalLogin: { user: string; password: string }
}

interface Entry {
  vhost: string
  name: string
  value: Record<string, unknown>
  definition: ShovelDefinition
  worker?: ShovelWorker
}

const key = (vhost: string, name: string) => JSON.stringify([vhost, name])

/** Erlang's calendar format RabbitMQ's shovel status uses: "2026-11-26 2:17:24" (local time, hour not padded). */
export function shovelTimestamp(ms: number): string {
  const d = new Date(ms)
  const two = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${d.getHours()}:${two(d.getMinutes())}:${two(d.getSeconds())}`
}

/** RabbitMQ returns a parameter's value with its keys in order. */
function sortedValue(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k]]))
}

export class ShovelRegistry {
  private readonly entries = new Map<string, Entry>()
  private local: LocalBroker | undefined

  constructor(private readonly host: ShovelHost) {
    for (const record of host.store.loadParameters()) {
      if (record.component !== SHOVEL_COMPONENT) continue
      try {
        const value = JSON.parse(record.value) as Record<string, unknown>
        this.entries.set(key(record.vhost, record.name), { vhost: record.vhost, name: record.name, value, definition: readDefinition(value) })
      } catch {
        // a value this version cannot read is left in the store, not run
      }
    }
  }

  /** Starts every shovel; `local` is the broker's own AMQP listener (for amqp:// URIs). */
  start(listener: { host: string; port: number }): void {
    this.local = { ...listener, ...this.host.internalLogin }
    for (const entry of this.entries.values()) this.startWorker(entry)
  }

  /** Stops every worker (at broker close). Definitions stay stored. */
  async stop(): Promise<void> {
    const workers = [...this.entries.values()].map((entry) => entry.worker).filter((w): w is ShovelWorker => w !== undefined)
    this.local = undefined
    for (const entry of this.entries.values()) entry.worker = undefined
    await Promise.all(workers.map((worker) => worker.stop()))
  }

  get running(): boolean {
    return this.local !== undefined
  }

  private startWorker(entry: Entry): void {
    if (!this.local) return
    const worker = new ShovelWorker(entry.definition, {
      vhost: entry.vhost,
      name: entry.name,
      local: this.local,
      done: () => {
        // src-delete-after reached: RabbitMQ clears the parameter
        if (this.entries.get(key(entry.vhost, entry.name))?.worker === worker) void this.clear(entry.vhost, entry.name)
      },
    })
    entry.worker = worker
    worker.start()
  }

  // --- parameters -----------------------------------------------------------------------------------------------

  /**
   * Sets a runtime parameter (only component `shovel` exists): validates the value as RabbitMQ does (PRECONDITION_FAILED
   * with its reason otherwise), stores it and (re)starts the shovel. `user` is who sets it: an amqp:// URI must name
   * a vhost that user may use. Returns whether it was new.
   */
  setParameter(vhost: string, component: string, name: string, value: unknown, user: string): { created: boolean } {
    if (!this.host.hasVhost(vhost)) throw notFound(`no vhost '${vhost}'`)
    if (component !== SHOVEL_COMPONENT) throw preconditionFailed(validationReason([`component ${component} not found`]))
    const definition = parseShovelDefinition(name, value)
    const localErrors = [...definition.destUris, ...definition.srcUris]
      .filter((endpoint) => endpoint.local && !(this.host.hasVhost(endpoint.vhost) && this.host.mayConnect(user, endpoint.vhost)))
      .map((endpoint) => `user "${user}" may not connect to vhost "${endpoint.vhost}"`)
    if (localErrors.length > 0) throw preconditionFailed(validationReason(localErrors))
    const record: Record<string, unknown> = value as Record<string, unknown>
    const k = key(vhost, name)
    const previous = this.entries.get(k)
    const entry: Entry = { vhost, name, value: record, definition }
    this.entries.set(k, entry)
    const stored: ParameterRecord = { vhost, component, name, value: JSON.stringify(record) }
    this.host.store.saveParameter(stored)
    void previous?.worker?.stop()
    this.startWorker(entry)
    return { created: previous === undefined }
  }

  /** Clears a parameter: stops the shovel (its unacked messages go back to the source) and deletes it. */
  async clear(vhost: string, name: string, component = SHOVEL_COMPONENT): Promise<boolean> {
    if (component !== SHOVEL_COMPONENT) return false
    const k = key(vhost, name)
    const entry = this.entries.get(k)
    if (!entry) return false
    this.entries.delete(k)
    this.host.store.deleteParameter(vhost, component, name)
    await entry.worker?.stop()
    return true
  }

  /** A vhost was deleted: its shovels stop (the store drops their parameters with the vhost). */
  vhostDeleted(vhost: string): void {
    for (const [k, entry] of this.entries) {
      if (entry.vhost !== vhost) continue
      this.entries.delete(k)
      void entry.worker?.stop()
    }
  }

  /** Parameters of one component (or all), optionally of one vhost, ordered by vhost and name. */
  parameters(component?: string, vhost?: string): RuntimeParameter[] {
    if (component !== undefined && component !== SHOVEL_COMPONENT) return []
    return [...this.entries.values()]
      .filter((entry) => vhost === undefined || entry.vhost === vhost)
      .sort((a, b) => (a.vhost === b.vhost ? (a.name < b.name ? -1 : 1) : a.vhost < b.vhost ? -1 : 1))
      .map((entry) => ({ value: sortedValue(entry.value), vhost: entry.vhost, component: SHOVEL_COMPONENT, name: entry.name }))
  }

  parameter(vhost: string, component: string, name: string): RuntimeParameter | undefined {
    return this.parameters(component, vhost).find((p) => p.name === name)
  }

  // --- status ---------------------------------------------------------------------------------------------------

  /** The status of every shovel, or of one vhost's (GET /api/shovels[/{vhost}]). */
  status(vhost?: string): ShovelStatus[] {
    return [...this.entries.values()]
      .filter((entry) => vhost === undefined || entry.vhost === vhost)
      .sort((a, b) => (a.vhost === b.vhost ? (a.name < b.name ? -1 : 1) : a.vhost < b.vhost ? -1 : 1))
      .map((entry) => this.statusOf(entry))
  }

  private statusOf(entry: Entry): ShovelStatus {
    const worker = entry.worker
    const d = entry.definition
    const state: ShovelState = worker?.state ?? 'starting'
    const base: ShovelStatus = {
      node: NODE_NAME,
      timestamp: shovelTimestamp(worker?.since ?? Date.now()),
      name: entry.name,
      vhost: entry.vhost,
      type: 'dynamic',
      state,
      messages_transferred: 0,
      last_error: null,
      last_error_at: null,
    }
    if (state === 'terminated') base.reason = worker?.reason
    if (state === 'running' && worker) {
      base.src_uri = redactUri(worker.srcUri)
      base.src_protocol = 'amqp091'
      base.dest_protocol = 'amqp091'
      base.dest_uri = redactUri(worker.destUri)
      if (d.srcQueue !== undefined) base.src_queue = d.srcQueue
      else {
        base.src_exchange = d.srcExchange
        base.src_exchange_key = d.srcExchangeKey
      }
      if (d.destQueue !== undefined) base.dest_queue = d.destQueue
      if (d.destExchange !== undefined) base.dest_exchange = d.destExchange
      if (d.destExchangeKey !== undefined) base.dest_exchange_key = d.destExchangeKey
    }
    // Warren's additions, always last
    const { messages_transferred: _m, last_error: _e, last_error_at: _a, ...rabbit } = base
    return {
      ...rabbit,
      messages_transferred: worker?.transferred ?? 0,
      last_error: worker?.lastError ?? null,
      last_error_at: worker?.lastErrorAt !== undefined ? new Date(worker.lastErrorAt).toISOString() : null,
    }
  }

  /** Restarts a shovel's worker; false when there is no such shovel. */
  async restart(vhost: string, name: string): Promise<boolean> {
    const entry = this.entries.get(key(vhost, name))
    if (!entry) return false
    if (entry.worker) await entry.worker.restart()
    else this.startWorker(entry)
    return true
  }
}
