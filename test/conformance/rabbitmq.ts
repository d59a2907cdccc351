// Starts a private RabbitMQ node (Debian's rabbitmq-server) on loopback for the conformance suite: its own node
// name, ports and directories under a temp dir owned by the `rabbitmq` user (see /work/shared/notes/machine-facts.md).
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir, userInfo } from 'node:os'
import { join } from 'node:path'

export interface RabbitNode {
  readonly amqpUrl: string
  readonly managementUrl: string
  readonly nodeName: string
  stop(): Promise<void>
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

function rabbitUid(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'rabbitmq']).toString().trim())
  const gid = Number(execFileSync('id', ['-g', 'rabbitmq']).toString().trim())
  return { uid, gid }
}

/** Starts the node and resolves once both its AMQP and management ports answer; throws (loudly) otherwise. */
export async function startRabbitMQ(timeoutMs = 60_000): Promise<RabbitNode> {
  if (!existsSync('/usr/sbin/rabbitmq-server')) throw new Error('rabbitmq-server is not installed (apt-get install -y rabbitmq-server); the conformance suite needs it')
  if (userInfo().uid !== 0) throw new Error('the conformance suite starts rabbitmq-server, which needs root (it switches to the rabbitmq user)')
  const [amqpPort, mgmtPort, distPort] = [await freePort(), await freePort(), await freePort()]
  const base = mkdtempSync(join(tmpdir(), 'warren-rabbit-'))
  const nodeName = `warrenconf${amqpPort}@localhost`
  const dirs = { mnesia: join(base, 'mnesia'), log: join(base, 'log') }
  for (const dir of Object.values(dirs)) mkdirSync(dir)
  writeFileSync(join(base, 'enabled_plugins'), '[rabbitmq_management].\n')
  writeFileSync(join(base, 'rabbitmq.conf'), `listeners.tcp.default = ${amqpPort}\nmanagement.tcp.port = ${mgmtPort}\nmanagement.tcp.ip = 127.0.0.1\nloopback_users = none\n`)
  const { uid, gid } = rabbitUid()
  const chownAll = (path: string) => execFileSync('chown', ['-R', `${uid}:${gid}`, path])
  chownSync(base, uid, gid)
  chownAll(base)
  const env = {
    ...process.env,
    RABBITMQ_NODENAME: nodeName,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: dirs.mnesia,
    RABBITMQ_LOG_BASE: dirs.log,
    RABBITMQ_PID_FILE: join(base, 'node.pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(base, 'enabled_plugins'),
    RABBITMQ_CONFIG_FILE: join(base, 'rabbitmq'),
  }
  let output = ''
  const child: ChildProcess = spawn('rabbitmq-server', [], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] })
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()))
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()))
  let exited = false
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())))
  const stop = async () => {
    if (!exited) {
      try {
        execFileSync('rabbitmqctl', ['-n', nodeName, 'stop'], { env, stdio: 'ignore', timeout: 30_000 })
      } catch {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {}
      }
      await Promise.race([exit, new Promise((r) => setTimeout(r, 10_000))])
      if (!exited) {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch {}
      }
    }
    process.removeListener('exit', killOnExit)
    rmSync(base, { recursive: true, force: true })
  }
  // if the test process dies without running teardown, do not leave the node behind
  const killOnExit = () => {
    if (exited) return
    try {
      process.kill(-child.pid!, 'SIGKILL')
    } catch {}
  }
  process.once('exit', killOnExit)
  const managementUrl = `http://127.0.0.1:${mgmtPort}`
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (exited) {
      await stop()
      throw new Error(`rabbitmq-server exited during start-up:\n${output}`)
    }
    if (await portAccepts(amqpPort)) {
      try {
        const response = await fetch(`${managementUrl}/api/overview`, { headers: { authorization: 'Basic ' + Buffer.from('guest:guest').toString('base64') } })
        if (response.ok) break
      } catch {}
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`rabbitmq-server did not accept connections within ${timeoutMs} ms:\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`, managementUrl, nodeName, stop }
}
