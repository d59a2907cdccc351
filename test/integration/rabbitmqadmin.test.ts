// Compatibility proof: Debian's rabbitmqadmin (the CLI shipped inside RabbitMQ's management plugin) drives the
// embedded broker's HTTP API. Skipped where the rabbitmq-server package is not installed.
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { connectWithChannel } from '../helpers/amqp'
import { makeTempDir, uniq, waitFor } from '../helpers/broker'
import { useHttpBroker } from '../helpers/http'

const run = promisify(execFile)
const PYTHON = '/usr/bin/python3'

function findRabbitmqadmin(): string | undefined {
  const lib = '/usr/lib/rabbitmq/lib'
  if (!existsSync(lib)) return undefined
  for (const server of readdirSync(lib).filter((d) => d.startsWith('rabbitmq_server-'))) {
    const plugins = join(lib, server, 'plugins')
    for (const plugin of readdirSync(plugins).filter((d) => /^rabbitmq_management-\d/.test(d))) {
      const cli = join(plugins, plugin, 'priv', 'www', 'cli', 'rabbitmqadmin')
      if (existsSync(cli)) return cli
    }
  }
  return undefined
}

const CLI = findRabbitmqadmin()
const ctx = useHttpBroker()

async function admin(...args: string[]): Promise<string> {
  const { stdout } = await run(PYTHON, [CLI!, '-H', '127.0.0.1', '-P', String(ctx.b.handle.httpPort), '-u', 'guest', '-p', 'guest', ...args], { timeout: 20_000 })
  return stdout
}

const json = async (...args: string[]) => JSON.parse(await admin('-f', 'raw_json', ...args))

describe.skipIf(!CLI || !existsSync(PYTHON))('rabbitmqadmin (from rabbitmq-server) against the embedded broker', { timeout: 90_000 }, () => {
  it('lists, declares, binds, publishes, gets and deletes', async () => {
    const queue = uniq('adm-q')
    const exchange = uniq('adm-x')
    expect(await admin('list', 'exchanges')).toContain('amq.topic')
    expect(await admin('declare', 'queue', `name=${queue}`, 'durable=false')).toContain('queue declared')
    expect(await admin('declare', 'exchange', `name=${exchange}`, 'type=topic')).toContain('exchange declared')
    expect(await admin('declare', 'binding', `source=${exchange}`, `destination=${queue}`, 'routing_key=a.*')).toContain('binding declared')

    const queues = await json('list', 'queues')
    expect(queues.find((q: { name: string }) => q.name === queue)).toMatchObject({ durable: false, messages: 0 })
    const bindings = await json('list', 'bindings')
    expect(bindings).toContainEqual(expect.objectContaining({ source: exchange, destination: queue, routing_key: 'a.*' }))

    // the declarations are real: visible over AMQP
    const { ch } = await connectWithChannel(ctx.b.amqpUrl)
    await ch.checkQueue(queue)
    await ch.checkExchange(exchange)

    expect(await admin('publish', `exchange=${exchange}`, 'routing_key=a.b', 'payload=hello from rabbitmqadmin')).toContain('Message published')
    await waitFor(async () => (await ch.checkQueue(queue)).messageCount === 1)
    const got = await json('get', `queue=${queue}`, 'ackmode=ack_requeue_false')
    expect(got).toEqual([expect.objectContaining({ payload: 'hello from rabbitmqadmin', routing_key: 'a.b', exchange, payload_encoding: 'string', redelivered: false })])
    expect((await ch.checkQueue(queue)).messageCount).toBe(0)

    expect(await admin('delete', 'binding', `source=${exchange}`, 'destination_type=queue', `destination=${queue}`, 'properties_key=a.*')).toContain('binding deleted')
    expect(await admin('delete', 'queue', `name=${queue}`)).toContain('queue deleted')
    expect(await admin('delete', 'exchange', `name=${exchange}`)).toContain('exchange deleted')
    expect((await json('list', 'queues')).some((q: { name: string }) => q.name === queue)).toBe(false)
  })

  it('shows the overview and lists connections, channels, users, vhosts and permissions', async () => {
    const { conn } = await connectWithChannel(ctx.b.amqpUrl)
    await waitFor(async () => (await json('list', 'connections')).length === 1)
    expect(await admin('show', 'overview')).toContain('3.10.8')
    expect(await json('list', 'channels')).toHaveLength(1)
    expect((await json('list', 'users')).map((u: { name: string }) => u.name)).toContain('guest')
    expect((await json('list', 'vhosts')).map((v: { name: string }) => v.name)).toContain('/')
    expect(await json('list', 'permissions')).toContainEqual(expect.objectContaining({ user: 'guest', vhost: '/' }))
    const [connection] = await json('list', 'connections')
    expect(await admin('close', 'connection', `name=${connection.name}`)).toContain('connection closed')
    await waitFor(async () => (await json('list', 'connections')).length === 0)
    void conn
  })

  it('exports and imports definitions, purges a queue', async () => {
    const dir = makeTempDir()
    try {
      const queue = uniq('adm-def')
      await admin('declare', 'queue', `name=${queue}`)
      await admin('publish', 'routing_key=' + queue, 'payload=x')
      expect(await admin('purge', 'queue', `name=${queue}`)).toContain('queue purged')
      const file = join(dir, 'defs.json')
      await admin('export', file)
      const defs = JSON.parse(readFileSync(file, 'utf8'))
      expect(defs.queues).toContainEqual(expect.objectContaining({ name: queue, durable: true }))
      await admin('delete', 'queue', `name=${queue}`)
      await admin('import', file)
      expect((await json('list', 'queues')).some((q: { name: string }) => q.name === queue)).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
