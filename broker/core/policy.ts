import isSafeRegex from 'safe-regex2'
import { preconditionFailed } from './errors'

/** Where a policy applies (RabbitMQ's apply-to). */
export type PolicyApplyTo = 'queues' | 'exchanges' | 'all'

/** The definition keys Warren implements, as RabbitMQ names them. */
export interface PolicyDefinition {
  'message-ttl'?: number
  expires?: number
  'dead-letter-exchange'?: string
  'dead-letter-routing-key'?: string
  'max-length'?: number
  'max-length-bytes'?: number
  overflow?: 'drop-head' | 'reject-publish' | 'reject-publish-dlx'
  'alternate-exchange'?: string
}

/** A policy as RabbitMQ has it: matched by a regular expression on names, the highest priority wins. */
export interface Policy {
  vhost: string
  name: string
  pattern: string
  applyTo: PolicyApplyTo
  priority: number
  definition: PolicyDefinition
}

const QUEUE_KEYS = ['message-ttl', 'expires', 'dead-letter-exchange', 'dead-letter-routing-key', 'max-length', 'max-length-bytes', 'overflow']
const EXCHANGE_KEYS = ['alternate-exchange']

/** Checks a policy as rabbit_policy validates it; throws a 406 with RabbitMQ's explanation. Returns a clean copy. */
export function validatePolicy(policy: Policy): Policy {
  const { definition } = policy
  if (typeof policy.name !== 'string' || policy.name === '') throw preconditionFailed('policy name must be a non-empty string')
  try {
    new RegExp(policy.pattern)
  } catch {
    throw preconditionFailed(`could not compile pattern ${JSON.stringify(policy.pattern)} to a regular expression`)
  }
  // JavaScript regular expressions backtrack without a time limit, so a pattern like (a+)+$ tested against a long
  // queue name would stall the whole broker. RabbitMQ (PCRE) accepts such patterns; Warren refuses them.
  if (!isSafeRegex(policy.pattern)) {
    throw preconditionFailed(`pattern ${JSON.stringify(policy.pattern)} nests repetitions (like (a+)+), which can take exponential time to match; write it without nested quantifiers`)
  }
  if (!['queues', 'exchanges', 'all'].includes(policy.applyTo)) throw preconditionFailed(`"${policy.applyTo}" is not a valid apply-to value`)
  if (!Number.isInteger(policy.priority)) throw preconditionFailed(`priority must be an integer`)
  const keys = Object.keys(definition ?? {})
  if (keys.length === 0) throw preconditionFailed('no policy provided')
  for (const key of keys) {
    const value = (definition as Record<string, unknown>)[key]
    if (!QUEUE_KEYS.includes(key) && !EXCHANGE_KEYS.includes(key)) throw preconditionFailed(`Validation failed\n\n[${JSON.stringify(key)}] are not recognised policy settings`)
    const nonNegative = (min: number) => {
      if (!Number.isInteger(value) || (value as number) < min) throw preconditionFailed(`Validation failed\n\n${key} must be an integer ${min === 0 ? 'greater than or equal to 0' : 'greater than 0'}, got ${JSON.stringify(value)}`)
    }
    switch (key) {
      case 'message-ttl':
      case 'max-length':
      case 'max-length-bytes':
        nonNegative(0)
        break
      case 'expires':
        nonNegative(1)
        break
      case 'overflow':
        if (!['drop-head', 'reject-publish', 'reject-publish-dlx'].includes(value as string)) throw preconditionFailed(`Validation failed\n\n${JSON.stringify(value)} is not a valid overflow value`)
        break
      default:
        if (typeof value !== 'string') throw preconditionFailed(`Validation failed\n\n${key} must be a string, got ${JSON.stringify(value)}`)
        // exchange names and routing keys travel in AMQP shortstr fields (see lifecycle.ts)
        if (Buffer.byteLength(value) > 255) throw preconditionFailed(`Validation failed\n\n${key} must be at most 255 bytes long`)
    }
  }
  if (definition['dead-letter-routing-key'] !== undefined && definition['dead-letter-exchange'] === undefined) {
    throw preconditionFailed('Validation failed\n\ndead-letter-routing-key requires dead-letter-exchange to be set')
  }
  return { vhost: policy.vhost, name: policy.name, pattern: policy.pattern, applyTo: policy.applyTo, priority: policy.priority, definition: { ...definition } }
}

/** The policy in force for a queue or exchange: the highest priority one whose pattern matches (rabbit_policy:match). */
export function matchPolicy(policies: Iterable<Policy>, kind: 'queue' | 'exchange', name: string): Policy | undefined {
  let best: Policy | undefined
  for (const policy of policies) {
    if (policy.applyTo !== 'all' && policy.applyTo !== (kind === 'queue' ? 'queues' : 'exchanges')) continue
    if (!compiled(policy.pattern).test(name)) continue
    if (!best || policy.priority > best.priority) best = policy
  }
  return best
}

const compiledPatterns = new Map<string, RegExp>()

/** Policies are matched on every declaration and policy change; compile each pattern once (bounded cache). */
function compiled(pattern: string): RegExp {
  let regex = compiledPatterns.get(pattern)
  if (!regex) {
    if (compiledPatterns.size >= 1000) compiledPatterns.clear()
    regex = new RegExp(pattern)
    compiledPatterns.set(pattern, regex)
  }
  return regex
}
