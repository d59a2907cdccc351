/**
 * The one error type of the protocol layer.
 *
 * `replyCode` is an AMQP reply code (501 FRAME_ERROR, 502 SYNTAX_ERROR, ...), `message` is the reply text to send
 * in connection.close / channel.close, RabbitMQ-style ("FRAME_ERROR - type 1, all octets = <<>>: unknown_frame"),
 * and `classId`/`methodId` identify the method that failed, 0 when no method is concerned.
 *
 * These are the peer's faults, not ours, and a hostile peer can make us build them at will, so they carry no stack
 * trace (capturing one costs more than decoding a frame): the message says what was wrong.
 */
export class ProtocolError extends Error {
  override readonly name = 'ProtocolError'

  constructor(
    readonly replyCode: number,
    message: string,
    readonly classId = 0,
    readonly methodId = 0,
  ) {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(message)
    Error.stackTraceLimit = limit
  }
}

/** Erlang-style rendering of (the start of) a binary, as RabbitMQ prints it in frame errors: `all octets = <<1,2>>`. */
export function payloadSnippet(payload: Uint8Array, max = 16): string {
  const n = Math.min(payload.length, max)
  let s = payload.length > max ? `first ${max} octets = <<` : 'all octets = <<'
  for (let i = 0; i < n; i++) s += (i ? ',' : '') + payload[i]
  return s + '>>'
}
