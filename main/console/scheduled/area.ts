/**
 * The console's scheduled area: its share of the contract's handlers (see ../context.ts).
 */
import type { ScheduledCommands } from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'

export function createScheduledArea(_ctx: ConsoleContext): ConsoleArea<keyof ScheduledCommands> {
  return { handlers: {} }
}
