/** The AMQP 0-9-1 protocol layer: bytes ⇄ frames ⇄ methods. */
export * from './errors'
export * from './field-table'
export * from './frames'
export * from './generated/amqp-spec.generated'
