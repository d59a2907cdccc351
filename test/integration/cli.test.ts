/**
 * The headless broker CLI as a user runs it. The child is `node --import tsx broker/cli.ts` — the same as
 * `npx tsx broker/cli.ts`, minus the npx and shell wrappers, which do not pass SIGTERM on to the broker process.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import amqp from 'amqplib'
import { afterEach, describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const children: ChildProcess[] = []
const dirs: string[] = []

afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

interface Run {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function runCli(args: string[]): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'broker/cli.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  })
  children.push(child)
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.once('exit', (code, signal) => res({ code, signal })))
  return { child, stdout: () => out, stderr: () => err, exited }
}

async function waitForPort(run: Run, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const m = /Warren broker listening on amqp:\/\/127\.0\.0\.1:(\d+)/.exec(run.stdout())
    if (m) return Number(m[1])
    if (run.child.exitCode !== null) throw new Error(`CLI exited early:\n${run.stdout()}\n${run.stderr()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`CLI printed no port in ${timeoutMs} ms:\n${run.stdout()}\n${run.stderr()}`)
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'warren-cli-'))
  dirs.push(d)
  return d
}

describe('broker CLI', () => {
  it('listens on a free port with --port 0, and on SIGTERM closes clients with 320 and exits 0', async () => {
    const dataDir = join(tempDir(), 'data')
    const run = runCli(['--port', '0', '--data', dataDir])
    const port = await waitForPort(run)
    expect(port).toBeGreaterThan(0)
    expect(run.stdout()).toContain(`Data: ${dataDir} (SQLite)`)

    const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`)
    const closed = new Promise<unknown>((res) => conn.on('close', res))
    conn.on('error', () => {}) // the forced close is also reported as an 'error' event
    const ch = await conn.createChannel()
    await ch.assertQueue('cli-test', { durable: true })

    run.child.kill('SIGTERM')
    const closeError = (await closed) as { code?: number; message?: string }
    expect(closeError?.code).toBe(320)
    expect(await run.exited).toEqual({ code: 0, signal: null })
    expect(run.stdout()).toContain('Warren broker stopped.')
  })

  it('says when the store is in memory, and stops on SIGINT too', async () => {
    const run = runCli(['--port', '0', '--host', '127.0.0.1'])
    await waitForPort(run)
    expect(run.stdout()).toMatch(/Data: in memory/)
    run.child.kill('SIGINT')
    expect(await run.exited).toEqual({ code: 0, signal: null })
  })

  it('serves the management HTTP API with --http-port 0 (loopback by default)', async () => {
    const run = runCli(['--port', '0', '--host', '127.0.0.1', '--http-port', '0'])
    await waitForPort(run)
    const deadline = Date.now() + 10_000
    let match: RegExpExecArray | null = null
    while (!(match = /Management HTTP API on http:\/\/127\.0\.0\.1:(\d+)\/api\/ \(bound to 127\.0\.0\.1:/.exec(run.stdout())) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50))
    }
    expect(match, run.stdout()).not.toBeNull()
    const response = await fetch(`http://127.0.0.1:${match![1]}/api/whoami`, { headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` } })
    expect(await response.json()).toEqual({ name: 'guest', tags: ['administrator'] })
    run.child.kill('SIGTERM')
    expect(await run.exited).toEqual({ code: 0, signal: null })
  })

  it('prints help and exits 0', async () => {
    const run = runCli(['--help'])
    expect(await run.exited).toEqual({ code: 0, signal: null })
    expect(run.stdout()).toContain('Usage: npm run broker')
  })

  it.each([[['--port', 'abc']], [['--nope']], [['--port', '70000']]])('rejects %j with exit status 2', async (args) => {
    const run = runCli(args)
    expect(await run.exited).toEqual({ code: 2, signal: null })
    expect(run.stderr()).toMatch(/^warren broker: .+\nRun with --help/)
    expect(run.stdout()).toBe('')
  })
})
