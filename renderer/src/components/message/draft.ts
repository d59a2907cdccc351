import type { ArgTable, MessageProperties } from '../../../../main/contract'

/** What a user types for one message: its body (and how to read it), its basic properties and headers as JSON. */
export interface MessageDraft {
  bodyEncoding: 'text' | 'json' | 'base64'
  body: string
  contentType: string
  deliveryMode: number
  priority: number | null
  correlationId: string
  replyTo: string
  expiration: string
  messageId: string
  type: string
  appId: string
  /** a JSON object, or empty */
  headers: string
}

export function newMessageDraft(): MessageDraft {
  return {
    bodyEncoding: 'text',
    body: '',
    contentType: '',
    deliveryMode: 2,
    priority: null,
    correlationId: '',
    replyTo: '',
    expiration: '',
    messageId: '',
    type: '',
    appId: '',
    headers: '',
  }
}

export const HEADERS_HINT = 'write them as a JSON object, e.g. {"tenant": "acme"}'

/** The headers table; undefined when none were typed, null when what was typed is not a JSON object. */
export function draftHeaders(draft: MessageDraft): ArgTable | undefined | null {
  if (!draft.headers.trim()) return undefined
  try {
    const headers = JSON.parse(draft.headers) as unknown
    return typeof headers === 'object' && headers !== null && !Array.isArray(headers) ? (headers as ArgTable) : null
  } catch {
    return null
  }
}

/** The properties to send: only those filled in; a JSON body without a content type gets application/json. */
export function draftProperties(draft: MessageDraft, headers: ArgTable | undefined): MessageProperties {
  const properties: MessageProperties = { deliveryMode: draft.deliveryMode }
  if (draft.contentType) properties.contentType = draft.contentType
  else if (draft.bodyEncoding === 'json') properties.contentType = 'application/json'
  if (draft.priority !== null) properties.priority = draft.priority
  for (const k of ['correlationId', 'replyTo', 'expiration', 'messageId', 'type', 'appId'] as const) if (draft[k]) properties[k] = draft[k]
  if (headers) properties.headers = headers
  return properties
}
