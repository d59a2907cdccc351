/**
 * The console's dead-letters area: its share of the contract's handlers (see ../context.ts).
 */
import type { DeadLetterCommands } from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'

export function createDeadLetterArea(_ctx: ConsoleContext): ConsoleArea<keyof DeadLetterCommands> {
  return { handlers: {} }
}
