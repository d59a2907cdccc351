/**
 * Scheduled (delayed) messages: schedule, list, cancel, reschedule, deliver now.
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ScheduledCommands {}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface ScheduledEvents {}

export const SCHEDULED_COMMANDS: { readonly [K in keyof ScheduledCommands]: true } = {}
export const SCHEDULED_EVENTS: { readonly [E in keyof ScheduledEvents]: true } = {}
