/**
 * Dead letters: find, group, inspect, replay, delete, export and import dead-lettered messages.
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DeadLetterCommands {}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface DeadLetterEvents {}

export const DEAD_LETTER_COMMANDS: { readonly [K in keyof DeadLetterCommands]: true } = {}
export const DEAD_LETTER_EVENTS: { readonly [E in keyof DeadLetterEvents]: true } = {}
