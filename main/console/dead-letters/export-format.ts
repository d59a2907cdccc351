/**
 * The export file: JSON lines. The first line describes the file, every other line is one message:
 *
 *   {"format":"warren-dead-letters","version":1,"vhost":"/","exportedAt":"2026-…Z","count":2}
 *   {"queue":"orders.dlq","exchange":"dlx","routingKey":"orders","redelivered":false,
 *    "properties":{"contentType":"application/json","headers":{"x-death":[{"count":1,"reason":"rejected",
 *    "queue":"orders","time":1764000000,"exchange":"","routing-keys":["orders"]}]}},
 *    "bodyBase64":"eyJpZCI6MX0=","fingerprint":"…"}
 *
 * Headers are JSON as the management API gives them (x-death `time` in seconds); import turns x-death times back
 * into AMQP timestamps. Bodies are base64, so any bytes survive.
 */
import type { DeadLetterMessage, MessageProperties } from '../../contract'
import { ConsoleError } from '../profiles'

export const EXPORT_FORMAT = 'warren-dead-letters'
export const EXPORT_VERSION = 1

export interface ExportedMessage {
  queue: string
  exchange: string
  routingKey: string
  redelivered: boolean
  properties: MessageProperties
  bodyBase64: string
  fingerprint?: string
}

export function exportLines(vhost: string, messages: (Pick<DeadLetterMessage, 'queue' | 'exchange' | 'routingKey' | 'redelivered' | 'properties' | 'fingerprint'> & { body: Buffer })[], now = new Date()): string {
  const lines = [JSON.stringify({ format: EXPORT_FORMAT, version: EXPORT_VERSION, vhost, exportedAt: now.toISOString(), count: messages.length })]
  for (const m of messages) {
    const line: ExportedMessage = { queue: m.queue, exchange: m.exchange, routingKey: m.routingKey, redelivered: m.redelivered, properties: m.properties, bodyBase64: m.body.toString('base64'), fingerprint: m.fingerprint }
    lines.push(JSON.stringify(line))
  }
  return lines.join('\n') + '\n'
}

/** Parses an export; throws INVALID naming the first bad line. */
export function parseExport(content: string): { vhost?: string; messages: (ExportedMessage & { body: Buffer })[] } {
  const lines = content.split(/\r?\n/).filter((l) => l.trim() !== '')
  if (!lines.length) throw new ConsoleError('INVALID', 'the file is empty')
  let header: Record<string, unknown>
  try {
    header = JSON.parse(lines[0]!) as Record<string, unknown>
  } catch {
    throw new ConsoleError('INVALID', 'line 1 is not JSON: not a Warren dead-letter export')
  }
  if (header.format !== EXPORT_FORMAT) throw new ConsoleError('INVALID', `line 1: not a Warren dead-letter export (format "${String(header.format)}")`)
  if (header.version !== EXPORT_VERSION) throw new ConsoleError('INVALID', `line 1: unsupported export version ${String(header.version)}`)
  const messages: (ExportedMessage & { body: Buffer })[] = []
  for (let i = 1; i < lines.length; i++) {
    let m: ExportedMessage
    try {
      m = JSON.parse(lines[i]!) as ExportedMessage
    } catch {
      throw new ConsoleError('INVALID', `line ${i + 1} is not JSON`)
    }
    if (typeof m.bodyBase64 !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(m.bodyBase64)) throw new ConsoleError('INVALID', `line ${i + 1}: bodyBase64 is missing or not base64`)
    if (typeof m.queue !== 'string') throw new ConsoleError('INVALID', `line ${i + 1}: queue is missing`)
    if (m.properties !== undefined && (typeof m.properties !== 'object' || m.properties === null)) throw new ConsoleError('INVALID', `line ${i + 1}: properties must be an object`)
    messages.push({ ...m, exchange: m.exchange ?? '', routingKey: m.routingKey ?? '', redelivered: m.redelivered === true, properties: m.properties ?? {}, body: Buffer.from(m.bodyBase64, 'base64') })
  }
  if (typeof header.count === 'number' && header.count !== messages.length) throw new ConsoleError('INVALID', `the file says ${header.count} messages but holds ${messages.length} (truncated?)`)
  return { vhost: typeof header.vhost === 'string' ? header.vhost : undefined, messages }
}
