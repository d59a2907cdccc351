/**
 * The ONE contract between Warren's console backend and its user interface.
 *
 * Only two shapes cross the boundary:
 *  - commands: request → Promise of a `Result` (errors cross as data, never as thrown exceptions), and
 *  - events: pushed from the backend, fire-and-forget.
 *
 * The desktop preload (main/shell/preload.ts) implements `WarrenBridge` over Electron IPC; a future web console
 * implements the same interface over HTTP, so the renderer cannot tell them apart.
 *
 * This file must stay free of runtime dependencies (no electron, no node:*): the renderer and the preload
 * bundle it.
 */

// ---------------------------------------------------------------------------------------------------------------
// Errors and results

export interface WarrenError {
  /** stable, machine-readable: e.g. 'UNKNOWN_COMMAND', 'FORBIDDEN', 'BROKER_NOT_RUNNING', 'INTERNAL' */
  code: string
  /** for humans */
  message: string
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: WarrenError }

export function ok<T>(value: T): Result<T> {
  return { ok: true, value }
}

export function err<T = never>(code: string, message: string): Result<T> {
  return { ok: false, error: { code, message } }
}

/** Turns anything thrown into a WarrenError; an Error carrying a string `code` keeps it. */
export function toWarrenError(e: unknown, fallbackCode = 'INTERNAL'): WarrenError {
  if (e instanceof Error) {
    const code = (e as Error & { code?: unknown }).code
    return { code: typeof code === 'string' && code !== '' ? code : fallbackCode, message: e.message }
  }
  return { code: fallbackCode, message: typeof e === 'string' ? e : 'unknown error' }
}

/** Unwraps a Result, throwing a WarrenCommandError when it is an error. For callers that prefer exceptions. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value
  throw new WarrenCommandError(result.error)
}

export class WarrenCommandError extends Error {
  readonly code: string
  constructor(error: WarrenError) {
    super(error.message)
    this.name = 'WarrenCommandError'
    this.code = error.code
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Data types

export type BrokerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'failed'

/** The embedded broker as the console sees it. Fields other than `state` are present when known. */
export interface BrokerStatus {
  state: BrokerState
  /** for clients on this machine, e.g. amqp://127.0.0.1:5672 */
  amqpUrl?: string
  host?: string
  port?: number
  /** absolute path of the SQLite store; absent for an in-memory store */
  dataDir?: string
  /** milliseconds since the broker reported it was listening */
  uptimeMs?: number
  /** process id of the broker host process */
  pid?: number
  /** why the broker is `failed` (or why it stopped unexpectedly) */
  error?: WarrenError
}

// ---------------------------------------------------------------------------------------------------------------
// Commands and events

/** Command name → (request) ⇒ Promise<Result<response>>. Requests and responses are plain data (structured-clonable). */
export interface WarrenCommands {
  'broker.status': (req: void) => Promise<Result<BrokerStatus>>
}

/** Event name → payload, pushed from the backend to every console window. */
export interface WarrenEvents {
  'broker.statusChanged': BrokerStatus
}

export type CommandName = keyof WarrenCommands
export type EventName = keyof WarrenEvents
export type CommandRequest<K extends CommandName> = Parameters<WarrenCommands[K]>[0]
export type CommandResponse<K extends CommandName> = Awaited<ReturnType<WarrenCommands[K]>> extends Result<infer T> ? T : never

/**
 * Runtime lists of command and event names (the preload and the HTTP server validate against them). Written as
 * records keyed by the interfaces so the compiler fails when a name is added to one but not the other.
 */
const COMMANDS: { readonly [K in CommandName]: true } = { 'broker.status': true }
const EVENTS: { readonly [E in EventName]: true } = { 'broker.statusChanged': true }
export const COMMAND_NAMES = Object.freeze(Object.keys(COMMANDS)) as readonly CommandName[]
export const EVENT_NAMES = Object.freeze(Object.keys(EVENTS)) as readonly EventName[]

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(COMMANDS, name)
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(EVENTS, name)
}

/** The IPC channel names used by the desktop bridge. */
export function commandChannel(name: CommandName): string {
  return `warren:command:${name}`
}
export function eventChannel(name: EventName): string {
  return `warren:event:${name}`
}

/** What the renderer sees as `window.warren`, whatever transport is underneath (Electron IPC, HTTP). */
export interface WarrenBridge {
  invoke<K extends CommandName>(command: K, request: CommandRequest<K>): ReturnType<WarrenCommands[K]>
  /** Subscribes to a pushed event; returns a function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: WarrenEvents[E]) => void): () => void
}

/**
 * What the backend implements: one function per command, returning the bare value (or a Promise of it). A thrown
 * error is turned into `{ ok: false, error }` by `dispatchCommand`, so handlers never build Results themselves.
 */
export type CommandHandlers = {
  [K in CommandName]: (request: CommandRequest<K>) => CommandResponse<K> | Promise<CommandResponse<K>>
}

/** Runs one command against the handlers; never throws, never rejects. */
export async function dispatchCommand(handlers: CommandHandlers, name: unknown, request: unknown): Promise<Result<unknown>> {
  if (!isCommandName(name)) return err('UNKNOWN_COMMAND', `unknown command: ${String(name)}`)
  try {
    const handler = handlers[name] as (req: unknown) => unknown
    return ok(await handler(request))
  } catch (e) {
    return { ok: false, error: toWarrenError(e) }
  }
}
