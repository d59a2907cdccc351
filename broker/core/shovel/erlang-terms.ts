/**
 * RabbitMQ writes the values in its validation errors with Erlang's ~p (a JSON string is a binary, <<"x">>; an
 * object a proplist of {<<"key">>, value} tuples), and the management API HTML-escapes the reason. Warren's shovel
 * validation reproduces that, so a client that shows RabbitMQ's reasons shows Warren's the same way.
 */
export function erlangTerm(value: unknown): string {
  if (typeof value === 'string') return `<<${JSON.stringify(value)}>>`
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  if (value === null || value === undefined) return 'null'
  if (Array.isArray(value)) return `[${value.map(erlangTerm).join(',')}]`
  return `[${Object.entries(value as Record<string, unknown>)
    .map(([key, item]) => `{${erlangTerm(key)},${erlangTerm(item)}}`)
    .join(',')}]`
}

/** The escaping the management API applies to a reason (rabbit_mgmt_util:bad_request → mochiweb_html:escape). */
export function htmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}
