import { describe, expect, it } from 'vitest'
import {
  COMMAND_NAMES,
  commandChannel,
  dispatchCommand,
  err,
  EVENT_NAMES,
  eventChannel,
  isCommandName,
  isEventName,
  ok,
  toWarrenError,
  unwrap,
  WarrenCommandError,
  type CommandHandlers,
} from '../../../main/contract'

/** only the commands a test needs; dispatchCommand looks handlers up by name */
const some = (h: Partial<CommandHandlers>): CommandHandlers => h as CommandHandlers

const handlers = some({
  'broker.status': () => ({ state: 'running', port: 5672 }),
})

describe('results', () => {
  it('builds ok and error results', () => {
    expect(ok(3)).toEqual({ ok: true, value: 3 })
    expect(err('NOPE', 'no')).toEqual({ ok: false, error: { code: 'NOPE', message: 'no' } })
  })

  it('unwraps values and throws errors with their code', () => {
    expect(unwrap(ok('x'))).toBe('x')
    try {
      unwrap(err('BROKER_NOT_RUNNING', 'down'))
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(WarrenCommandError)
      expect((e as WarrenCommandError).code).toBe('BROKER_NOT_RUNNING')
      expect((e as Error).message).toBe('down')
    }
  })

  it('turns anything thrown into data', () => {
    expect(toWarrenError(new Error('boom'))).toEqual({ code: 'INTERNAL', message: 'boom' })
    expect(toWarrenError(Object.assign(new Error('gone'), { code: 'ENOENT' }))).toEqual({ code: 'ENOENT', message: 'gone' })
    expect(toWarrenError('text', 'X')).toEqual({ code: 'X', message: 'text' })
    expect(toWarrenError(42)).toEqual({ code: 'INTERNAL', message: 'unknown error' })
  })
})

describe('names and channels', () => {
  it('lists every command and event of the interfaces', () => {
    expect(COMMAND_NAMES).toContain('broker.status')
    expect(COMMAND_NAMES).toEqual(expect.arrayContaining(['profiles.list', 'queues.list', 'messages.browse', 'messages.publish', 'connections.close']))
    expect(new Set(COMMAND_NAMES).size).toBe(COMMAND_NAMES.length)
    // the management events first, then each area's (composed in main/contract/index.ts)
    expect(EVENT_NAMES.slice(0, 3)).toEqual(['broker.statusChanged', 'profiles.changed', 'overview.tick'])
    expect(new Set(EVENT_NAMES).size).toBe(EVENT_NAMES.length)
    // every area's names carry their area's prefix, so two areas cannot collide
    for (const name of [...COMMAND_NAMES, ...EVENT_NAMES]) expect(name).toMatch(/^[a-z][a-zA-Z]*\.[a-zA-Z.]+$/)
  })

  it('recognises only known names (no prototype keys)', () => {
    expect(isCommandName('broker.status')).toBe(true)
    expect(isCommandName('toString')).toBe(false)
    expect(isCommandName('__proto__')).toBe(false)
    expect(isCommandName(1)).toBe(false)
    expect(isEventName('broker.statusChanged')).toBe(true)
    expect(isEventName('broker.status')).toBe(false)
  })

  it('keeps commands and events on distinct channels', () => {
    expect(commandChannel('broker.status')).toBe('warren:command:broker.status')
    expect(eventChannel('broker.statusChanged')).toBe('warren:event:broker.statusChanged')
  })
})

describe('dispatchCommand', () => {
  it('wraps the handler value in ok', async () => {
    expect(await dispatchCommand(handlers, 'broker.status', undefined)).toEqual(ok({ state: 'running', port: 5672 }))
  })

  it('reports unknown commands as data', async () => {
    const r = await dispatchCommand(handlers, 'queue.purge', {})
    expect(r).toMatchObject({ ok: false, error: { code: 'UNKNOWN_COMMAND' } })
  })

  it('never rejects: thrown and rejected errors become error results', async () => {
    const throwing = some({
      'broker.status': () => {
        throw Object.assign(new Error('not yet'), { code: 'BROKER_NOT_RUNNING' })
      },
    })
    expect(await dispatchCommand(throwing, 'broker.status', undefined)).toEqual(err('BROKER_NOT_RUNNING', 'not yet'))
    const rejecting = some({ 'broker.status': () => Promise.reject(new Error('later')) })
    expect(await dispatchCommand(rejecting, 'broker.status', undefined)).toEqual(err('INTERNAL', 'later'))
  })
})
