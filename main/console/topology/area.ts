/**
 * The console's topology area: its share of the contract's handlers (see ../context.ts).
 */
import type { TopologyCommands } from '../../contract'
import type { ConsoleArea, ConsoleContext } from '../context'

export function createTopologyArea(_ctx: ConsoleContext): ConsoleArea<keyof TopologyCommands> {
  return { handlers: {} }
}
