/**
 * Runs a plan's steps in order against a BrokerBackend; the first failure stops the run and is reported with the
 * broker's reply.
 */
import type { ApplyResult, PlanStep, StepResult, TopologyPlan } from '../../contract'
import { toWarrenError } from '../../contract'
import type { BrokerBackend } from '../backend'
import { ConsoleError } from '../profiles'

async function runStep(backend: BrokerBackend, vhost: string, step: PlanStep): Promise<void> {
  const fail = (): never => {
    throw new ConsoleError('INVALID', `step ${step.index + 1} (${step.description}) is incomplete`)
  }
  if (step.object === 'exchange') {
    const x = step.exchange ?? fail()
    const ref = { vhost, name: x.name }
    if (step.kind === 'delete' || step.kind === 'recreate') await backend.deleteExchange(ref)
    if (step.kind === 'create' || step.kind === 'recreate') {
      await backend.createExchange({ vhost, name: x.name, type: x.type, durable: x.durable, autoDelete: x.autoDelete, internal: x.internal, arguments: x.arguments })
    }
    return
  }
  if (step.object === 'queue') {
    const q = step.queue ?? fail()
    if (step.kind === 'delete' || step.kind === 'recreate') await backend.deleteQueue({ vhost, name: q.name })
    if (step.kind === 'create' || step.kind === 'recreate') {
      // x-queue-type stays in the arguments: the backend sends the arguments as they are
      await backend.createQueue({ vhost, name: q.name, durable: q.durable, autoDelete: q.autoDelete, arguments: q.arguments })
    }
    return
  }
  const b = step.binding ?? fail()
  const spec = { vhost, source: b.source, destination: b.destination, destinationType: b.destinationType, routingKey: b.routingKey, arguments: b.arguments }
  if (step.kind === 'delete') await backend.deleteBinding({ ...spec, propertiesKey: b.propertiesKey ?? '~' })
  else await backend.createBinding(spec)
}

export async function applyPlan(backend: BrokerBackend, plan: TopologyPlan, onStep?: (result: StepResult) => void): Promise<ApplyResult> {
  const results: StepResult[] = []
  let failed: ApplyResult['failed']
  for (const step of plan.steps) {
    if (failed) {
      const skipped: StepResult = { index: step.index, status: 'skipped', ms: 0 }
      results.push(skipped)
      continue
    }
    const started = Date.now()
    try {
      await runStep(backend, plan.vhost, step)
      const done: StepResult = { index: step.index, status: 'done', ms: Date.now() - started }
      results.push(done)
      onStep?.(done)
    } catch (e) {
      const error = toWarrenError(e)
      const result: StepResult = { index: step.index, status: 'failed', error, ms: Date.now() - started }
      results.push(result)
      onStep?.(result)
      failed = { index: step.index, description: step.description, error }
    }
  }
  return { completed: !failed, results, failed }
}
