// The console's cluster area on Warren's active/standby pair (real `broker/cli.ts --pair` processes on one data
// directory, test/helpers/pair.ts): the pair's members and roles, a profile pointing at the standby, kill -9 of the
// active → the takeover in the history and the old active shown down (a warning), then back as the standby.
import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchCommand, type ClusterState, type CommandHandlers } from '../../main/contract'
import { ProfileStore } from '../../main/console/profiles'
import { AesGcmSecretBox } from '../../main/console/secrets'
import { createConsoleService, type ConsoleService } from '../../main/console/service'
import { waitFor } from '../e2e/helpers/rabbitmq-cluster'
import { external, makeTempDir } from '../helpers/broker'
import { freePorts, spawnPairMember, type PairProcess } from '../helpers/pair'

let service: ConsoleService
let handlers: CommandHandlers
let profiles: ProfileStore
const members: PairProcess[] = []
const dir = makeTempDir('warren-cluster-pair-')
let ports: number[] = []
const ids: Record<'a' | 'b', string> = { a: '', b: '' }

async function state(profile: 'a' | 'b'): Promise<ClusterState> {
  if (profiles.activeId() !== ids[profile]) await dispatchCommand(handlers, 'profiles.activate', { id: ids[profile] })
  const r = await dispatchCommand(handlers, 'cluster.state', undefined)
  if (!r.ok) throw new Error(`cluster.state: ${r.error.code} ${r.error.message}`)
  return r.value as ClusterState
}
const roles = (s: ClusterState) => Object.fromEntries(s.pair?.members.map((m) => [m.name, m.role]) ?? [])

beforeAll(async () => {
  if (external) return
  ports = await freePorts(4)
  profiles = new ProfileStore(':memory:', new AesGcmSecretBox(randomBytes(32)), { amqpUrl: 'amqp://127.0.0.1:1', managementUrl: 'http://127.0.0.1:1' })
  service = createConsoleService({ profiles, emit: () => {} })
  handlers = { ...service.handlers, 'broker.status': () => ({ state: 'running' as const }) } as CommandHandlers
  for (const [i, name] of (['a', 'b'] as const).entries()) {
    ids[name] = profiles.add({ name, amqpUrl: `amqp://127.0.0.1:${ports[i * 2]}`, managementUrl: `http://127.0.0.1:${ports[i * 2 + 1]}`, username: 'guest', password: 'guest', vhost: '/', production: false, readOnly: false }).id
  }
}, 30_000)

afterAll(async () => {
  await Promise.all(members.map((m) => m.kill9()))
  await service?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe.skipIf(external)('cluster area on a Warren pair', () => {
  it('shows both members and their roles; a profile on the standby says so and names the active', async () => {
    members.push(spawnPairMember(dir, 'a', ports[0]!, ports[1]!))
    await members[0]!.waitForOutput(/is ACTIVE/)
    members.push(spawnPairMember(dir, 'b', ports[2]!, ports[3]!))
    await members[1]!.waitForOutput(/is STANDBY/)
    await waitFor('both members in the pair status', async () => Object.keys(roles(await state('a'))).length === 2, 15_000, 250)
    const onActive = await state('a')
    expect(onActive.kind).toBe('warren')
    expect(onActive.pair).toMatchObject({ mode: 'pair', node: 'a', role: 'active' })
    expect(roles(onActive)).toEqual({ a: 'active', b: 'standby' })
    expect(onActive.nodes).toHaveLength(1)
    expect(onActive.warnings).toEqual([])
    const onStandby = await state('b')
    expect(onStandby.pair).toMatchObject({ node: 'b', role: 'standby' })
    expect(onStandby.warnings.map((w) => w.kind)).toEqual(['profile-on-standby'])
    expect(onStandby.warnings[0]!.detail).toContain(`${ports[0]}`)
  }, 60_000)

  it('kill -9 of the active: the standby took over (in the history), the old active is down and warned about, then back as standby', async () => {
    const before = Date.now()
    await members[0]!.kill9()
    await members[1]!.waitForOutput(/is ACTIVE/, 15_000)
    let s: ClusterState | undefined
    await waitFor('b active and a down', async () => {
      s = await state('b')
      return s.pair?.role === 'active' && roles(s).a === 'down'
    }, 20_000, 250)
    const takeover = s!.pair!.takeovers[0]!
    expect(takeover.node).toBe('b')
    expect(takeover.at).toBeGreaterThanOrEqual(before - 1000)
    expect(s!.warnings.map((w) => w.kind)).toEqual(['standby-down'])
    // a profile still pointing at the dead member: the view finds the pair through the member that took over
    const viaDead = await state('a')
    expect(viaDead.pair).toMatchObject({ mode: 'pair', node: 'b', role: 'active' })
    expect(viaDead.warnings.map((w) => w.kind)).toEqual(['profile-member-unreachable', 'standby-down'])
    expect(viaDead.warnings[0]!.detail).toContain(`${ports[3]}`)
    const page = await dispatchCommand(handlers, 'cluster.placement', { page: 1, pageSize: 10 })
    expect(page.ok).toBe(true)
    members[0] = spawnPairMember(dir, 'a', ports[0]!, ports[1]!)
    await members[0].waitForOutput(/is STANDBY/)
    await waitFor('a back as the standby', async () => {
      s = await state('b')
      return roles(s).a === 'standby'
    }, 20_000, 250)
    expect(s!.warnings).toEqual([])
  }, 90_000)
})
