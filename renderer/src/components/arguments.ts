import type { ArgTable, ArgValue } from '../../../main/contract'

export type ArgType = 'string' | 'number' | 'boolean' | 'json'

export interface KnownArgument {
  key: string
  type: ArgType
  label: string
  /** choices for a string argument */
  options?: string[]
  /** queue types it applies to (queues only) */
  types?: string[]
}

export const QUEUE_ARGUMENTS: KnownArgument[] = [
  { key: 'x-message-ttl', type: 'number', label: 'Message TTL (ms)' },
  { key: 'x-expires', type: 'number', label: 'Auto-expire after (ms unused)' },
  { key: 'x-max-length', type: 'number', label: 'Max length (messages)' },
  { key: 'x-max-length-bytes', type: 'number', label: 'Max length (bytes)' },
  { key: 'x-overflow', type: 'string', label: 'Overflow behaviour', options: ['drop-head', 'reject-publish', 'reject-publish-dlx'] },
  { key: 'x-dead-letter-exchange', type: 'string', label: 'Dead-letter exchange' },
  { key: 'x-dead-letter-routing-key', type: 'string', label: 'Dead-letter routing key' },
  { key: 'x-single-active-consumer', type: 'boolean', label: 'Single active consumer' },
  { key: 'x-max-priority', type: 'number', label: 'Max priority (classic)', types: ['classic'] },
  { key: 'x-queue-mode', type: 'string', label: 'Queue mode (classic)', options: ['default', 'lazy'], types: ['classic'] },
  { key: 'x-delivery-limit', type: 'number', label: 'Delivery limit (quorum)', types: ['quorum'] },
  { key: 'x-quorum-initial-group-size', type: 'number', label: 'Initial group size (quorum)', types: ['quorum'] },
  { key: 'x-max-age', type: 'string', label: 'Max age (stream, e.g. 7D)', types: ['stream'] },
]

export const EXCHANGE_ARGUMENTS: KnownArgument[] = [
  { key: 'alternate-exchange', type: 'string', label: 'Alternate exchange' },
  { key: 'x-delayed-type', type: 'string', label: 'Delayed type (x-delayed-message)', options: ['direct', 'fanout', 'topic', 'headers'] },
]

export interface ArgRow {
  key: string
  type: ArgType
  value: string | number | boolean | null
}

/** Rows of the editor → an argument table; throws with a readable message on a bad value. */
export function rowsToTable(rows: ArgRow[]): ArgTable {
  const out: ArgTable = {}
  for (const row of rows) {
    const key = row.key.trim()
    if (!key) continue
    if (row.value === null || row.value === '') continue
    let value: ArgValue
    switch (row.type) {
      case 'number': {
        const n = typeof row.value === 'number' ? row.value : Number(row.value)
        if (!Number.isFinite(n)) throw new Error(`${key}: not a number`)
        value = n
        break
      }
      case 'boolean':
        value = row.value === true || row.value === 'true'
        break
      case 'json':
        try {
          value = JSON.parse(String(row.value)) as ArgValue
        } catch {
          throw new Error(`${key}: not valid JSON`)
        }
        break
      default:
        value = String(row.value)
    }
    out[key] = value
  }
  return out
}
