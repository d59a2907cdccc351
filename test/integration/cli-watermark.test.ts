/**
 * `--memory-high-watermark` on the headless CLI, as a user runs it: the broker prints the watermark it uses, and a
 * publisher past it gets connection.blocked, until a consumer drains the queue.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { totalmem } from 'node:os'
import { resolve } from 'node:path'
import amqp from 'amqplib'
import { afterEach, describe, expect, it } from 'vitest'
import { waitFor } from '../helpers/broker'

const ROOT = resolve(import.meta.dirname, '../..')
const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

async function runCli(args: string[]): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/cli.ts', '--port', '0', '--host', '127.0.0.1', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  })
  children.push(child)
  let out = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d))
  const port = await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`CLI exited early:\n${out}`)
    const m = /Warren broker listening on amqp:\/\/127\.0\.0\.1:(\d+)[\s\S]*Memory high watermark/.exec(out)
    return m ? Number(m[1]) : undefined
  }, 20_000)
  return { child, port: port!, output: () => out }
}

describe('--memory-high-watermark', () => {
  it('in bytes: printed, and publishers are blocked past it, then unblocked when a consumer drains', async () => {
    const run = await runCli(['--memory-high-watermark', '256KiB'])
    expect(run.output()).toContain('Memory high watermark: 262144 bytes of message bodies')
    const url = `amqp://guest:guest@127.0.0.1:${run.port}`
    const publisher = await amqp.connect(url)
    const events: string[] = []
    publisher.on('blocked', (reason: string) => events.push(`blocked:${reason}`))
    publisher.on('unblocked', () => events.push('unblocked'))
    const ch = await publisher.createChannel()
    const queue = `wm-${Date.now()}`
    await ch.assertQueue(queue)
    const body = Buffer.alloc(16 * 1024, 7)
    for (let i = 0; i < 40; i++) ch.sendToQueue(queue, body) // 640 KiB offered
    await waitFor(() => events.includes('blocked:low on memory'), 10_000)

    const consumer = await amqp.connect(url)
    const cch = await consumer.createChannel()
    let received = 0
    await cch.consume(queue, () => received++, { noAck: true })
    await waitFor(() => received === 40, 15_000)
    await waitFor(() => events.includes('unblocked'), 5_000)
    await consumer.close()
    await publisher.close()
  })

  it('as a fraction of RAM', async () => {
    const run = await runCli(['--memory-high-watermark', '0.25'])
    expect(run.output()).toContain(`Memory high watermark: ${Math.floor(0.25 * totalmem())} bytes`)
  })

  it('a bad value exits 2 with a message', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'broker/cli.ts', '--memory-high-watermark', 'lots'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_NO_WARNINGS: '1' } })
    children.push(child)
    let err = ''
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
    const code = await new Promise((r) => child.once('exit', r))
    expect(code).toBe(2)
    expect(err).toMatch(/^warren broker: --memory-high-watermark must be a size in bytes/)
  })
})
