// Validation of dynamic shovel definitions (broker/core/shovel/definition.ts). Each expected reason below is what
// RabbitMQ 3.10.8 with rabbitmq_shovel answered to the same PUT /api/parameters/shovel/%2f/{name} (recorded from a
// real node); the core raises it as PRECONDITION_FAILED, which the HTTP API sends as 400 with that reason.
import { afterEach, describe, expect, it } from 'vitest'
import { BrokerCore } from '../../../broker/core/broker'
import { AmqpError } from '../../../broker/core/errors'
import { parseShovelDefinition, readDefinition } from '../../../broker/core/shovel/definition'
import { redactUri } from '../../../broker/core/shovel/uri'
import { createMemoryStore } from '../../../broker/store'

const ok = { 'src-uri': 'amqp://', 'src-queue': 'q1', 'dest-uri': 'amqp://' }

const cases: Array<[string, string, Record<string, unknown>, string]> = [
  ['missing src-uri', 's2', { 'src-queue': 'q1', 'dest-uri': 'amqp://', 'dest-queue': 'q2' }, 'Key "src-uri" not found in s2\n'],
  ['missing dest-uri', 's2', { 'src-uri': 'amqp://', 'src-queue': 'q1' }, 'Key "dest-uri" not found in s2\n'],
  ['no source', 's2', { 'src-uri': 'amqp://', 'dest-uri': 'amqp://', 'dest-queue': 'q2' }, "Must specify 'src-exchange' or 'src-queue'\n"],
  ['two sources', 's2', { ...ok, 'src-exchange': 'x', 'dest-queue': 'q2' }, "Cannot specify 'src-exchange' and 'src-queue'\n"],
  ['two destinations', 's2', { ...ok, 'dest-queue': 'q2', 'dest-exchange': 'x' }, "Cannot specify 'dest-exchange' and 'dest-queue'\n"],
  ['bad ack-mode', 's2', { ...ok, 'ack-mode': 'bogus' }, 'ack-mode should be one of [&lt;&lt;"no-ack"&gt;&gt;,&lt;&lt;"on-publish"&gt;&gt;,&lt;&lt;"on-confirm"&gt;&gt;], actually was &lt;&lt;"bogus"&gt;&gt;\n'],
  ['bad scheme', 's2', { 'src-uri': 'foo://x', 'src-queue': 'q1', 'dest-uri': 'amqp://' }, '"foo://x" not a valid URI: {{unexpected_uri_scheme,"foo"},"foo://x"}\n'],
  ['prefetch not a number', 's2', { ...ok, 'src-prefetch-count': 'x' }, 'src-prefetch-count should be a number, actually was &lt;&lt;"x"&gt;&gt;\n'],
  ['prefetch as a string number', 's6', { ...ok, 'src-prefetch-count': '5' }, 'src-prefetch-count should be a number, actually was &lt;&lt;"5"&gt;&gt;\n'],
  ['bad delete-after', 's2', { ...ok, 'src-delete-after': 'sometimes' }, 'src-delete-after should be a number greater than or equal to 0, "never" or "queue-length", actually was &lt;&lt;"sometimes"&gt;&gt;\n'],
  ['bad reconnect-delay', 's2', { ...ok, 'reconnect-delay': 'x' }, 'reconnect-delay should be a number, actually was &lt;&lt;"x"&gt;&gt;\n'],
  ['unknown key', 's2', { ...ok, 'bogus-key': 1 }, 'Unrecognised terms [{&lt;&lt;"bogus-key"&gt;&gt;,1}] in s2\n'],
  ['empty definition', 'e1', {}, "Must specify 'src-exchange' or 'src-queue'\nKey \"dest-uri\" not found in e1\nKey \"src-uri\" not found in e1\n"],
  [
    'several errors, in RabbitMQ\'s order',
    'e1',
    { 'ack-mode': 'x', 'src-prefetch-count': 'y', bogus: 1, zz: 'a' },
    "Must specify 'src-exchange' or 'src-queue'\nUnrecognised terms [{&lt;&lt;\"bogus\"&gt;&gt;,1},{&lt;&lt;\"zz\"&gt;&gt;,&lt;&lt;\"a\"&gt;&gt;}] in e1\nKey \"dest-uri\" not found in e1\nsrc-prefetch-count should be a number, actually was &lt;&lt;\"y\"&gt;&gt;\nKey \"src-uri\" not found in e1\nack-mode should be one of [&lt;&lt;\"no-ack\"&gt;&gt;,&lt;&lt;\"on-publish\"&gt;&gt;,&lt;&lt;\"on-confirm\"&gt;&gt;], actually was &lt;&lt;\"x\"&gt;&gt;\n",
  ],
  [
    'publish properties, booleans, delete-after below 0',
    'e1',
    { ...ok, 'src-delete-after': -1, 'add-forward-headers': 'yes', 'dest-publish-properties': { foo: 1 } },
    'Unrecognised terms [{&lt;&lt;"foo"&gt;&gt;,1}] in dest-publish-properties\nadd-forward-headers should be boolean, actually was &lt;&lt;"yes"&gt;&gt;\nsrc-delete-after should be a number greater than or equal to 0, "never" or "queue-length", actually was -1\n',
  ],
  ['wrong types', 'e1', { 'src-uri': 5, 'src-exchange': 7, 'dest-uri': 'amqp://' }, 'src-exchange should be binary, actually was 7\nsrc-uri should be list, actually was 5\n'],
]

describe('shovel definition validation (RabbitMQ 3.10 reasons)', () => {
  for (const [title, name, value, reason] of cases) {
    it(title, () => {
      let error: unknown
      try {
        parseShovelDefinition(name, value)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(AmqpError)
      expect((error as AmqpError).replyCode).toBe(406)
      expect((error as AmqpError).explanation).toBe(`Validation failed\n\n${reason}`)
    })
  }

  it('accepts what RabbitMQ accepts, with its defaults', () => {
    expect(parseShovelDefinition('s', { ...ok, 'src-protocol': 'amqp091', 'dest-protocol': 'amqp091', 'dest-queue': 'q2' })).toMatchObject({
      srcQueue: 'q1',
      destQueue: 'q2',
      ackMode: 'on-confirm',
      prefetchCount: 1000,
      deleteAfter: 'never',
      reconnectDelay: 5,
      addForwardHeaders: false,
      srcExchangeKey: '',
    })
    const d = parseShovelDefinition('s', {
      'src-uri': ['amqp://u:p@h1', 'amqp://u:p@h2:5673/v'],
      'src-exchange': 'amq.topic',
      'src-exchange-key': 'a.#',
      'dest-uri': 'amqps://u:p@remote/%2f?heartbeat=5',
      'dest-exchange': 'x',
      'ack-mode': 'on-publish',
      'src-prefetch-count': 10,
      'src-delete-after': 3,
      'reconnect-delay': 1,
      'dest-add-forward-headers': true,
      'dest-add-timestamp-header': true,
      'dest-publish-properties': { delivery_mode: 2, content_type: 'text/plain' },
    })
    expect(d.srcUris.map((u) => u.uri)).toEqual(['amqp://u:p@h1', 'amqp://u:p@h2:5673/v'])
    expect(d).toMatchObject({ srcExchange: 'amq.topic', srcExchangeKey: 'a.#', destExchange: 'x', ackMode: 'on-publish', prefetchCount: 10, deleteAfter: 3, reconnectDelay: 1, addForwardHeaders: true, addTimestampHeader: true })
    expect(d.publishProperties).toEqual({ deliveryMode: 2, contentType: 'text/plain' })
    // the pre-3.7 names still work
    expect(readDefinition({ ...ok, 'prefetch-count': 7, 'delete-after': 'queue-length', 'add-forward-headers': true })).toMatchObject({ prefetchCount: 7, deleteAfter: 'queue-length', addForwardHeaders: true })
  })

  it('refuses AMQP 1.0 shovels, which Warren does not implement', () => {
    expect(() => parseShovelDefinition('s', { ...ok, 'src-protocol': 'amqp10' })).toThrow(/not supported by Warren/)
  })

  it('shows URIs without credentials or query, as RabbitMQ does', () => {
    expect(redactUri('amqp://guest:secret@127.0.0.1:41923/%2f?heartbeat=5')).toBe('amqp://127.0.0.1:41923/%2f')
    expect(redactUri('amqps://u@host')).toBe('amqps://host')
    expect(redactUri('amqp://')).toBe('amqp://')
  })
})

describe('shovel parameters in the core', () => {
  let core: BrokerCore | undefined
  afterEach(async () => {
    await core?.shovels.stop()
    await core?.store.close()
    core = undefined
  })

  it('refuses unknown components, unknown vhosts and local URIs to vhosts the user may not use', () => {
    core = new BrokerCore({ store: createMemoryStore(), memoryHighWatermark: 1e9 })
    const reason = (f: () => unknown) => {
      try {
        f()
      } catch (e) {
        return [(e as AmqpError).replyCode, (e as AmqpError).explanation]
      }
      return undefined
    }
    expect(reason(() => core!.shovels.setParameter('/', 'nosuchcomp', 'x', {}, 'guest'))).toEqual([406, 'Validation failed\n\ncomponent nosuchcomp not found\n'])
    expect(reason(() => core!.shovels.setParameter('nosuch', 'shovel', 'x', ok, 'guest'))?.[0]).toBe(404)
    expect(reason(() => core!.shovels.setParameter('/', 'shovel', 's8', { ...ok, 'dest-uri': 'amqp:///nosuchvhost' }, 'guest'))).toEqual([406, 'Validation failed\n\nuser "guest" may not connect to vhost "nosuchvhost"\n'])
    // valid: stored (not started: the broker is not listening), replaced, cleared
    expect(core.shovels.setParameter('/', 'shovel', 's1', ok, 'guest')).toEqual({ created: true })
    expect(core.shovels.setParameter('/', 'shovel', 's1', { ...ok, 'ack-mode': 'no-ack' }, 'guest')).toEqual({ created: false })
    expect(core.store.loadParameters()).toEqual([{ vhost: '/', component: 'shovel', name: 's1', value: JSON.stringify({ ...ok, 'ack-mode': 'no-ack' }) }])
    expect(core.shovels.parameters()).toEqual([{ value: { 'ack-mode': 'no-ack', 'dest-uri': 'amqp://', 'src-queue': 'q1', 'src-uri': 'amqp://' }, vhost: '/', component: 'shovel', name: 's1' }])
    expect(core.shovels.status().map((s) => [s.name, s.state])).toEqual([['s1', 'starting']])
  })
})
