// A private RabbitMQ node with the management plugin on loopback, for tests that compare the console's backends.
// Debian's rabbitmq-server switches to the `rabbitmq` user, so every directory it gets is owned by that user
// (/work/shared/notes/machine-facts.md). Throws — loudly — when the node cannot start: these tests never skip.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RabbitMQNode {
  /** without credentials (guest/guest work on loopback) */
  amqpUrl: string
  managementUrl: string
  stop(): Promise<void>
}

/** A TCP port free on loopback right now (bound, read, closed). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number }
      s.close(() => resolve(port))
    })
  })
}

export interface RabbitMQNodeOptions {
  /** plugins enabled besides rabbitmq_management, e.g. ['rabbitmq_shovel', 'rabbitmq_shovel_management'] */
  plugins?: string[]
}

export async function startRabbitMQNode(timeoutMs = 90_000, options: RabbitMQNodeOptions = {}): Promise<RabbitMQNode> {
  if (!existsSync('/usr/sbin/rabbitmq-server')) throw new Error('rabbitmq-server is missing: apt-get install -y rabbitmq-server')
  const amqpPort = await freePort()
  const httpPort = await freePort()
  const distPort = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'warren-console-rabbit-'))
  const node = `warrenconsole${amqpPort}@localhost`
  mkdirSync(join(dir, 'mnesia'))
  mkdirSync(join(dir, 'log'))
  writeFileSync(join(dir, 'enabled_plugins'), `[${['rabbitmq_management', ...(options.plugins ?? [])].join(',')}].\n`)
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [`listeners.tcp.default = ${amqpPort}`, `management.tcp.port = ${httpPort}`, 'management.tcp.ip = 127.0.0.1', 'loopback_users = none', 'collect_statistics_interval = 1000', ''].join('\n'),
  )
  execFileSync('chown', ['-R', 'rabbitmq:rabbitmq', dir])
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'rabbit.pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
  }
  const child = spawn('rabbitmq-server', [], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)))
  child.stderr.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-8000)))
  let exited = false
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())))

  const stop = async (): Promise<void> => {
    if (!exited) {
      try {
        execFileSync('rabbitmqctl', ['-n', node, 'stop'], { env, stdio: 'ignore', timeout: 30_000 })
      } catch {
        // fall through to the kill
      }
      await Promise.race([exit, new Promise((r) => setTimeout(r, 10_000))])
      if (!exited && child.pid) {
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }
    rmSync(dir, { recursive: true, force: true })
  }

  const managementUrl = `http://127.0.0.1:${httpPort}`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (exited) {
      await stop()
      throw new Error(`rabbitmq-server exited while starting:\n${output}`)
    }
    try {
      const r = await fetch(`${managementUrl}/api/overview`, { headers: { authorization: 'Basic Z3Vlc3Q6Z3Vlc3Q=' } })
      if (r.ok) break
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`rabbitmq-server did not answer on ${managementUrl} within ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 250))
  }
  return { amqpUrl: `amqp://127.0.0.1:${amqpPort}`, managementUrl, stop }
}
