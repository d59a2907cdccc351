/**
 * Errors raised by the core as AMQP replies. A channel-scope error closes the channel, a connection-scope one the
 * connection (AMQP 0-9-1 §1.5.2.2 and RabbitMQ's rabbit_misc:protocol_error). The reply text follows RabbitMQ's
 * form "NAME - explanation", since clients and people recognise it.
 * The HTTP API maps the same errors to HTTP statuses.
 */
export const ReplyCode = {
  NO_ROUTE: 312,
  CONNECTION_FORCED: 320,
  ACCESS_REFUSED: 403,
  NOT_FOUND: 404,
  RESOURCE_LOCKED: 405,
  PRECONDITION_FAILED: 406,
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  COMMAND_INVALID: 503,
  CHANNEL_ERROR: 504,
  UNEXPECTED_FRAME: 505,
  RESOURCE_ERROR: 506,
  NOT_ALLOWED: 530,
  NOT_IMPLEMENTED: 540,
  INTERNAL_ERROR: 541,
} as const

const replyNames = new Map<number, string>(Object.entries(ReplyCode).map(([name, code]) => [code, name]))

export type ErrorScope = 'channel' | 'connection'

export class AmqpError extends Error {
  /** class and method id of the method that caused the error, sent in the close frame */
  classId = 0
  methodId = 0

  constructor(
    readonly replyCode: number,
    readonly explanation: string,
    readonly scope: ErrorScope,
  ) {
    super(`${replyNames.get(replyCode) ?? 'ERROR'} - ${explanation}`)
  }

  withIds(classId: number, methodId: number): this {
    this.classId = classId
    this.methodId = methodId
    return this
  }

  withMethod(method: { classId: number; methodId: number }): this {
    return this.withIds(method.classId, method.methodId)
  }

  /** The reply text sent in channel.close / connection.close. */
  get replyText(): string {
    // reply-text is a shortstr: RabbitMQ cuts longer texts to 252 bytes and appends '...' (rabbit_binary_generator)
    const bytes = Buffer.from(this.message)
    if (bytes.length <= 255) return this.message
    return bytes.subarray(0, 252).toString('utf8').replace(/\uFFFD$/, '') + '...'
  }
}

const channelError = (code: number) => (explanation: string) => new AmqpError(code, explanation, 'channel')
const connectionError = (code: number) => (explanation: string) => new AmqpError(code, explanation, 'connection')

export const accessRefused = channelError(ReplyCode.ACCESS_REFUSED)
export const notFound = channelError(ReplyCode.NOT_FOUND)
export const resourceLocked = channelError(ReplyCode.RESOURCE_LOCKED)
export const preconditionFailed = channelError(ReplyCode.PRECONDITION_FAILED)
export const frameError = connectionError(ReplyCode.FRAME_ERROR)
export const syntaxError = connectionError(ReplyCode.SYNTAX_ERROR)
export const commandInvalid = connectionError(ReplyCode.COMMAND_INVALID)
export const channelScopeViolation = connectionError(ReplyCode.CHANNEL_ERROR)
export const unexpectedFrame = connectionError(ReplyCode.UNEXPECTED_FRAME)
export const notAllowed = connectionError(ReplyCode.NOT_ALLOWED)
export const notImplemented = connectionError(ReplyCode.NOT_IMPLEMENTED)
export const internalError = connectionError(ReplyCode.INTERNAL_ERROR)

/** RabbitMQ names resources in messages as "queue 'name' in vhost '/'". */
export function describeResource(kind: 'queue' | 'exchange', vhost: string, name: string): string {
  return `${kind} '${name}' in vhost '${vhost}'`
}
