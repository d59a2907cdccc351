// Conformance: every scenario runs against a real RabbitMQ 3.10 (Debian's rabbitmq-server, started once for this
// file) and against Warren's embedded broker; their normalised observations must be deeply equal.
// If RabbitMQ cannot start, the suite fails (it is never skipped).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startBroker, type BrokerHandle } from '../../broker/index'
import { normalise, TestBed, type PolicyDriver, type PolicySpec, type Scenario } from './harness'
import { startRabbitMQ, type RabbitNode } from './rabbitmq'
import { coreScenarios } from './scenarios/core'
import { edgeScenarios } from './scenarios/edges'
import { lifecycleScenarios } from './scenarios/lifecycle'

const scenarios: Scenario[] = [...lifecycleScenarios, ...edgeScenarios, ...coreScenarios]

let rabbit: RabbitNode | undefined
let warren: BrokerHandle | undefined

function rabbitPolicies(node: RabbitNode): PolicyDriver {
  const auth = { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64'), 'content-type': 'application/json' }
  return {
    async set(name: string, spec: PolicySpec) {
      const response = await fetch(`${node.managementUrl}/api/policies/%2F/${encodeURIComponent(name)}`, {
        method: 'PUT',
        headers: auth,
        body: JSON.stringify({ pattern: spec.pattern, definition: spec.definition, priority: spec.priority ?? 0, 'apply-to': spec.applyTo ?? 'all' }),
      })
      if (!response.ok) throw new Error(`RabbitMQ refused policy ${name}: ${response.status} ${await response.text()}`)
      // queues pick policy changes up asynchronously
      await new Promise((resolve) => setTimeout(resolve, 50))
    },
    async clear(name: string) {
      await fetch(`${node.managementUrl}/api/policies/%2F/${encodeURIComponent(name)}`, { method: 'DELETE', headers: auth })
      await new Promise((resolve) => setTimeout(resolve, 50))
    },
  }
}

function warrenPolicies(handle: BrokerHandle): PolicyDriver {
  return {
    async set(name: string, spec: PolicySpec) {
      handle.core.setPolicy('/', { name, pattern: spec.pattern, definition: spec.definition, priority: spec.priority ?? 0, applyTo: spec.applyTo ?? 'all' })
    },
    async clear(name: string) {
      handle.core.deletePolicy('/', name)
    },
  }
}

beforeAll(async () => {
  ;[rabbit, warren] = await Promise.all([startRabbitMQ(), startBroker({ port: 0, host: '127.0.0.1' })])
}, 90_000)

afterAll(async () => {
  await Promise.all([rabbit?.stop(), warren?.close()])
}, 60_000)

async function observeOn(url: string, policies: PolicyDriver, scenario: Scenario): Promise<unknown> {
  const bed = new TestBed(url, policies, scenario.name)
  try {
    return normalise(await scenario.run(bed), bed.suffix)
  } finally {
    await bed.close()
  }
}

describe('conformance with RabbitMQ 3.10', () => {
  it('has a RabbitMQ node and an embedded broker', () => {
    expect(rabbit?.amqpUrl).toMatch(/^amqp:/)
    expect(warren?.port).toBeGreaterThan(0)
  })

  const names = new Set<string>()
  for (const scenario of scenarios) {
    if (names.has(scenario.name)) throw new Error(`duplicate scenario name ${scenario.name}`)
    names.add(scenario.name)
    it(scenario.name, async () => {
      const [expected, actual] = await Promise.all([
        observeOn(rabbit!.amqpUrl, rabbitPolicies(rabbit!), scenario),
        observeOn(`amqp://guest:guest@127.0.0.1:${warren!.port}`, warrenPolicies(warren!), scenario),
      ])
      expect(actual).toEqual(expected)
    })
  }
})
