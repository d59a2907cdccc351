/**
 * Metrics history: rates and depths of the active profile sampled into the console database (24 h).
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MetricsCommands {}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface MetricsEvents {}

export const METRICS_COMMANDS: { readonly [K in keyof MetricsCommands]: true } = {}
export const METRICS_EVENTS: { readonly [E in keyof MetricsEvents]: true } = {}
