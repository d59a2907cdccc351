/**
 * The console's metrics area: its share of the contract's handlers (see ../context.ts).
 */
import type { MetricsCommands } from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'

export function createMetricsArea(_ctx: ConsoleContext): ConsoleArea<keyof MetricsCommands> {
  return { handlers: {} }
}
