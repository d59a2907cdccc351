import { AmqpError, ReplyCode } from '../core/errors'

/** An HTTP error with RabbitMQ's JSON body: {"error": ..., "reason": ...}. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly reason: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(`${status} ${error}: ${reason}`)
  }
}

/** The 404 RabbitMQ sends for a resource (or path) that does not exist. */
export const objectNotFound = () => new HttpError(404, 'Object Not Found', 'Not Found')
export const vhostNotFound = () => new HttpError(404, 'not_found', 'vhost_not_found')
export const badRequest = (reason: string) => new HttpError(400, 'bad_request', reason)
/** RabbitMQ 3.10 answers missing rights with 401 and "not_authorised" (British spelling), not 403. */
export const notAuthorised = (reason: string) => new HttpError(401, 'not_authorised', reason)
export const accessRefusedHttp = () => notAuthorised('Access refused.')
export const notImplementedHttp = (reason: string) => new HttpError(501, 'not_implemented', reason)

/**
 * Maps an error raised by the core (the same AmqpError an AMQP channel would turn into channel.close) to the HTTP
 * status RabbitMQ's management API uses for it.
 */
export function fromCoreError(error: AmqpError): HttpError {
  switch (error.replyCode) {
    case ReplyCode.ACCESS_REFUSED:
      return accessRefusedHttp()
    case ReplyCode.NOT_FOUND:
      return new HttpError(404, 'not_found', error.explanation)
    case ReplyCode.PRECONDITION_FAILED:
    case ReplyCode.RESOURCE_LOCKED:
    case ReplyCode.COMMAND_INVALID:
    case ReplyCode.NOT_ALLOWED:
    case ReplyCode.NOT_IMPLEMENTED:
    case ReplyCode.SYNTAX_ERROR:
      return badRequest(error.explanation)
    default:
      return new HttpError(500, 'internal_error', error.replyText)
  }
}

export function toHttpError(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error
  if (error instanceof AmqpError) return fromCoreError(error)
  return undefined
}
