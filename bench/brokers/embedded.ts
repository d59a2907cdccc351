/**
 * Warren's embedded broker, run in its own process through its CLI
 * (`tsx broker/cli.ts --port 0 --data DIR`) so client and broker do not share an event loop.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { type BrokerHandle, killGroup, spawnGroup, tail, tempDir, track, waitForAmqp, exited } from './common';

const root = fileURLToPath(new URL('../..', import.meta.url));

export async function startEmbedded(timeoutMs = 60_000): Promise<BrokerHandle> {
  const cli = join(root, 'broker', 'cli.ts');
  if (!existsSync(cli)) throw new Error(`embedded broker CLI not found (${cli}) — not implemented yet?`);
  const dir = tempDir('warren');
  const tsx = join(root, 'node_modules', '.bin', 'tsx');
  const spawnBroker = (port: number) => spawnGroup(tsx, [cli, '--port', String(port), '--data', dir.path], { cwd: root });
  let child = spawnBroker(0);
  let log = tail(child);
  const stop = async () => {
    await killGroup(child, 10_000);
    dir.remove();
  };
  // register before waiting, so Ctrl-C during start-up still stops it
  const handle = track({ name: 'Warren', url: '', pgid: child.pid, stop });
  try {
    const port = await portFromOutput(child, timeoutMs, log);
    handle.url = `amqp://guest:guest@127.0.0.1:${port}`;
    await waitForAmqp(handle.url, child, 10_000, log);
    handle.restart = async () => {
      await killGroup(child, 30_000);
      const spawnedAt = performance.now();
      child = spawnBroker(port);
      log = tail(child);
      handle.pgid = child.pid;
      await waitForAmqp(handle.url, child, timeoutMs, log, 20);
      return { spawnedAt, acceptedAt: performance.now() };
    };
    return handle;
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

function portFromOutput(child: ChildProcess, timeoutMs: number, log: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (d: Buffer) => {
      seen += d.toString();
      const m = /amqp:\/\/[^\s/]*?127\.0\.0\.1:(\d+)/.exec(seen);
      if (m) {
        cleanup();
        resolve(Number(m[1]));
      }
      if (seen.length > 65536) seen = seen.slice(-4096);
    };
    const onExit = () => {
      cleanup();
      reject(new Error(`embedded broker exited (code ${child.exitCode}) before listening\n${log()}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`embedded broker printed no amqp://127.0.0.1:PORT line in ${timeoutMs} ms\n${log()}`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    if (exited(child)) onExit();
  });
}
