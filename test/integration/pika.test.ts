// A real Python client (pika 1.2, Debian's python3-pika) against the broker.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { useBroker } from '../helpers/setup'
import { REPO_ROOT } from '../helpers/broker'

const ctx = useBroker()
const PY = '/usr/bin/python3'
const SCRIPT = join(REPO_ROOT, 'test', 'integration', 'clients', 'pika_client.py')

function run(url: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) =>
    execFile(PY, [SCRIPT, url], { timeout: 20_000 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`)) : resolve({ stdout, stderr }),
    ),
  )
}

describe.skipIf(!existsSync(PY))('pika client', () => {
  it('declare, confirm publish, passive count, basic_get, consume, channel error', async () => {
    const { stdout } = await run(ctx.url)
    const r = JSON.parse(stdout.trim().split('\n').pop()!)
    expect(r.ok).toBe(true)
    expect(r.declare_queue).toMatch(/^wt\.pika\.q\./)
    expect(r.confirmed).toBe(5)
    expect(r.unroutable).toBe('returned:312')
    expect(r.passive_count).toBe(5)
    expect(r.get).toEqual({ body: 'm0', message_count: 4, content_type: 'text/plain', headers: { i: 0 } })
    expect(r.consumed).toEqual(['m1', 'm2', 'm3', 'm4'])
    expect(r.get_empty).toBe(true)
    expect(r.missing[0]).toBe(404)
    expect(r.missing[1]).toMatch(/^NOT_FOUND - no queue 'wt\.pika\.missing\.[0-9a-f]+' in vhost '\/'$/)
  }, 30_000)
})
