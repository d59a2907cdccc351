// A private, real 3-node RabbitMQ 3.10.8 cluster on loopback, for the Cluster view's integration and e2e tests.
// Recipe: /work/shared/notes/machine-facts.md (Debian's rabbitmq-server switches to the `rabbitmq` user, so every
// directory it gets is owned by that user; nodes 2..N join node 1 with stop_app / join_cluster / start_app).
// It sets up what the view shows: a classic mirrored queue (policy ha-mode all, ha-sync-mode automatic), a quorum
// queue, a dynamic shovel and a federation upstream + policy. Throws — loudly — when the cluster cannot form: these
// tests never skip. stop() always removes every node and directory (call it from afterAll).
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './rabbitmq'

export interface ClusterNodeInfo {
  /** Erlang node name, e.g. warrenc12345n1@localhost */
  name: string
  /** without credentials (guest/guest work on loopback) */
  amqpUrl: string
  managementUrl: string
}

export interface RabbitMQCluster {
  nodes: ClusterNodeInfo[]
  /** names of what the harness set up, all in vhost "/" */
  mirroredQueue: string
  quorumQueue: string
  shovel: string
  shovelSource: string
  shovelDestination: string
  federationUpstream: string
  federatedExchange: string
  /** the vhost the federation upstream reads from */
  upstreamVhost: string
  /** GET on node i's management API (0-based), guest/guest */
  api(i: number, path: string): Promise<unknown>
  /** stops node i (0-based) with rabbitmqctl stop and waits until its process exited */
  stopNode(i: number): Promise<void>
  /** starts node i again (it rejoins the cluster from its own data) and waits until its management API answers */
  startNode(i: number): Promise<void>
  /** stops every node and removes every directory; safe to call twice */
  stop(): Promise<void>
}

const AUTH = 'Basic ' + Buffer.from('guest:guest').toString('base64')
const PLUGINS = '[rabbitmq_management,rabbitmq_shovel,rabbitmq_shovel_management,rabbitmq_federation,rabbitmq_federation_management].\n'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

interface NodeState {
  info: ClusterNodeInfo
  env: NodeJS.ProcessEnv
  child?: ChildProcess
  exited: Promise<void>
  running: boolean
  output: string
}

function ctl(node: NodeState, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('rabbitmqctl', ['-n', node.info.name, ...args], { env: node.env, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) reject(new Error(`rabbitmqctl -n ${node.info.name} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

async function http(base: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const r = await fetch(base + path, {
    method,
    headers: { authorization: AUTH, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20_000),
  })
  const text = await r.text()
  if (!r.ok) throw new Error(`${method} ${base}${path} → ${r.status} ${text}`)
  return text ? JSON.parse(text) : undefined
}

/** Polls `check` until it returns true (errors count as false), or throws with `what` after timeoutMs. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 60_000, everyMs = 500): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      if (await check()) return
    } catch (e) {
      last = e
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`)
    await sleep(everyMs)
  }
}

export async function startRabbitMQCluster(size = 3, timeoutMs = 150_000): Promise<RabbitMQCluster> {
  if (!existsSync('/usr/sbin/rabbitmq-server')) throw new Error('rabbitmq-server is missing: apt-get install -y rabbitmq-server')
  const dir = mkdtempSync(join(tmpdir(), 'warren-cluster-'))
  const tag = `warrenc${process.pid}x${Date.now() % 100000}`
  const nodes: NodeState[] = []
  for (let i = 0; i < size; i++) {
    const amqpPort = await freePort()
    const httpPort = await freePort()
    const distPort = await freePort()
    const nodeDir = join(dir, `n${i + 1}`)
    mkdirSync(join(nodeDir, 'mnesia'), { recursive: true })
    mkdirSync(join(nodeDir, 'log'), { recursive: true })
    writeFileSync(join(nodeDir, 'enabled_plugins'), PLUGINS)
    writeFileSync(
      join(nodeDir, 'rabbitmq.conf'),
      [
        `listeners.tcp.default = ${amqpPort}`,
        `management.tcp.port = ${httpPort}`,
        'management.tcp.ip = 127.0.0.1',
        'loopback_users = none',
        'collect_statistics_interval = 1000',
        '',
      ].join('\n'),
    )
    const name = `${tag}n${i + 1}@localhost`
    nodes.push({
      info: { name, amqpUrl: `amqp://127.0.0.1:${amqpPort}`, managementUrl: `http://127.0.0.1:${httpPort}` },
      env: {
        ...process.env,
        RABBITMQ_NODENAME: name,
        RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
        RABBITMQ_NODE_PORT: String(amqpPort),
        RABBITMQ_DIST_PORT: String(distPort),
        RABBITMQ_MNESIA_BASE: join(nodeDir, 'mnesia'),
        RABBITMQ_LOG_BASE: join(nodeDir, 'log'),
        RABBITMQ_PID_FILE: join(nodeDir, 'rabbit.pid'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(nodeDir, 'enabled_plugins'),
        RABBITMQ_CONFIG_FILE: join(nodeDir, 'rabbitmq'),
      },
      exited: Promise.resolve(),
      running: false,
      output: '',
    })
  }
  await new Promise<void>((resolve, reject) =>
    execFile('chown', ['-R', 'rabbitmq:rabbitmq', dir], (e) => (e ? reject(e) : resolve())),
  )

  function launch(n: NodeState): void {
    const child = spawn('rabbitmq-server', [], { env: n.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
    n.child = child
    n.running = true
    n.output = ''
    child.stdout?.on('data', (d: Buffer) => (n.output = (n.output + d.toString()).slice(-8000)))
    child.stderr?.on('data', (d: Buffer) => (n.output = (n.output + d.toString()).slice(-8000)))
    n.exited = new Promise<void>((resolve) => child.once('exit', () => ((n.running = false), resolve())))
  }

  async function answers(n: NodeState, deadlineMs: number): Promise<void> {
    const deadline = Date.now() + deadlineMs
    for (;;) {
      if (!n.running) throw new Error(`${n.info.name} exited while starting:\n${n.output}`)
      try {
        const r = await fetch(`${n.info.managementUrl}/api/overview`, { headers: { authorization: AUTH }, signal: AbortSignal.timeout(5000) })
        if (r.ok) return
      } catch {
        // not up yet
      }
      if (Date.now() > deadline) throw new Error(`${n.info.name} did not answer on ${n.info.managementUrl} within ${deadlineMs} ms:\n${n.output}`)
      await sleep(250)
    }
  }

  async function kill(n: NodeState): Promise<void> {
    if (!n.running) return
    try {
      await ctl(n, ['stop'], 30_000)
    } catch {
      // fall through to the kill
    }
    await Promise.race([n.exited, sleep(10_000)])
    if (n.running && n.child?.pid) {
      try {
        process.kill(-n.child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
      await Promise.race([n.exited, sleep(5_000)])
    }
  }

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await Promise.all(nodes.map((n) => kill(n)))
    rmSync(dir, { recursive: true, force: true })
  }

  const base = (i: number): string => nodes[i]!.info.managementUrl
  const t0 = Date.now()
  // WARREN_CLUSTER_TIMING=1 prints how long each phase took
  const phase = (what: string): void => {
    if (process.env.WARREN_CLUSTER_TIMING === '1') console.log(`[rabbitmq-cluster] ${what} at ${Date.now() - t0} ms`)
  }
  try {
    for (const n of nodes) launch(n)
    await Promise.all(nodes.map((n) => answers(n, timeoutMs)))
    phase('nodes answer')
    const seed = nodes[0]!
    // stop_app and start_app of the joining nodes run side by side; the joins themselves one after the other
    const joining = nodes.slice(1)
    await Promise.all(joining.map((n) => ctl(n, ['stop_app'])))
    for (const n of joining) await ctl(n, ['join_cluster', seed.info.name])
    await Promise.all(joining.map((n) => ctl(n, ['start_app'])))
    await waitFor(
      `${size} running nodes`,
      async () => ((await http(base(0), 'GET', '/api/nodes')) as { running: boolean }[]).filter((x) => x.running).length === size,
      60_000,
    )
    await Promise.all(nodes.map((n) => answers(n, 60_000)))
    phase('cluster formed')

    // what the Cluster view shows
    await http(base(0), 'PUT', '/api/policies/%2F/ha-mirrored', {
      pattern: '^mirrored\\.',
      'apply-to': 'queues',
      definition: { 'ha-mode': 'all', 'ha-sync-mode': 'automatic' },
      priority: 0,
    })
    // queues are declared through node 1's API, so node 1 holds the classic master and the quorum leader
    await http(base(0), 'PUT', '/api/queues/%2F/mirrored.orders', { durable: true, auto_delete: false, arguments: {}, node: seed.info.name })
    await http(base(0), 'PUT', '/api/queues/%2F/quorum.orders', { durable: true, auto_delete: false, arguments: { 'x-queue-type': 'quorum' }, node: seed.info.name })
    await http(base(0), 'PUT', '/api/queues/%2F/shovel.src', { durable: true, auto_delete: false, arguments: {} })
    await http(base(0), 'PUT', '/api/queues/%2F/shovel.dest', { durable: true, auto_delete: false, arguments: {} })
    await http(base(0), 'PUT', '/api/parameters/shovel/%2F/orders-shovel', {
      value: {
        'src-protocol': 'amqp091',
        'src-uri': 'amqp://',
        'src-queue': 'shovel.src',
        'dest-protocol': 'amqp091',
        'dest-uri': 'amqp://',
        'dest-queue': 'shovel.dest',
      },
    })
    // federation: exchange fed.events in "/" follows fed.events of vhost "upstream", read over AMQP from node 2
    await http(base(0), 'PUT', '/api/vhosts/upstream', {})
    await http(base(0), 'PUT', '/api/permissions/upstream/guest', { configure: '.*', write: '.*', read: '.*' })
    await http(base(0), 'PUT', '/api/exchanges/upstream/fed.events', { type: 'topic', durable: true })
    await http(base(0), 'PUT', '/api/exchanges/%2F/fed.events', { type: 'topic', durable: true })
    const node2Amqp = nodes[Math.min(1, size - 1)]!.info.amqpUrl.replace('amqp://', 'amqp://guest:guest@')
    await http(base(0), 'PUT', '/api/parameters/federation-upstream/%2F/events-upstream', { value: { uri: `${node2Amqp}/upstream`, 'ack-mode': 'on-confirm' } })
    await http(base(0), 'PUT', '/api/policies/%2F/federate-events', {
      pattern: '^fed\\.',
      'apply-to': 'exchanges',
      definition: { 'federation-upstream-set': 'all' },
      priority: 0,
    })
    phase('objects declared')
    await waitFor(
      'the shovel and the federation link running',
      async () => {
        const shovels = (await http(base(0), 'GET', '/api/shovels')) as { state?: string }[]
        const links = (await http(base(0), 'GET', '/api/federation-links')) as { status?: string }[]
        return shovels.some((s) => s.state === 'running') && links.some((l) => l.status === 'running')
      },
      60_000,
    )
    await waitFor(
      'the mirrored queue synchronised on every node',
      async () => {
        const q = (await http(base(0), 'GET', '/api/queues/%2F/mirrored.orders')) as { synchronised_slave_nodes?: string[] }
        return (q.synchronised_slave_nodes ?? []).length === size - 1
      },
      60_000,
    )
    phase('ready')
  } catch (e) {
    await stop()
    throw e
  }

  return {
    nodes: nodes.map((n) => n.info),
    mirroredQueue: 'mirrored.orders',
    quorumQueue: 'quorum.orders',
    shovel: 'orders-shovel',
    shovelSource: 'shovel.src',
    shovelDestination: 'shovel.dest',
    federationUpstream: 'events-upstream',
    federatedExchange: 'fed.events',
    upstreamVhost: 'upstream',
    api: (i, path) => http(base(i), 'GET', path),
    stopNode: async (i) => {
      await kill(nodes[i]!)
    },
    startNode: async (i) => {
      const n = nodes[i]!
      if (n.running) return
      launch(n)
      await answers(n, timeoutMs)
    },
    stop,
  }
}
