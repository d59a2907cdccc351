/**
 * Topology designer: live topology, plan and apply a design, definitions import/export, route testing.
 * Part of the one contract (index.ts composes every area's commands and events). Types only, plus the runtime name
 * records the transports validate against; no runtime dependencies.
 */

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TopologyCommands {}

// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface TopologyEvents {}

export const TOPOLOGY_COMMANDS: { readonly [K in keyof TopologyCommands]: true } = {}
export const TOPOLOGY_EVENTS: { readonly [E in keyof TopologyEvents]: true } = {}
