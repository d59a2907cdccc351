/**
 * GarageMQ (Debian's garagemq) on loopback: a copy of /etc/garagemq/config.yaml with free
 * AMQP/admin ports and its badger db under a temp dir.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BrokerHandle, freePort, killGroup, spawnGroup, tail, tempDir, track, waitForAmqp } from './common';

export async function startGarageMQ(timeoutMs = 30_000): Promise<BrokerHandle> {
  const dir = tempDir('garagemq');
  const [port, adminPort] = [await freePort(), await freePort()];
  const config = rewriteConfig(readFileSync('/etc/garagemq/config.yaml', 'utf8'), port, adminPort, join(dir.path, 'db'));
  const configFile = join(dir.path, 'config.yaml');
  writeFileSync(configFile, config);

  const child = spawnGroup('garagemq', ['--config', configFile], { cwd: dir.path });
  const log = tail(child);
  const stop = async () => {
    await killGroup(child, 10_000);
    dir.remove();
  };
  const handle = track({ name: 'GarageMQ', url: `amqp://guest:guest@127.0.0.1:${port}`, pgid: child.pid, stop });
  try {
    await waitForAmqp(handle.url, child, timeoutMs, log);
    return handle;
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

/** Change tcp.port, admin.port and db.defaultPath in the packaged YAML (simple line edit by section). */
export function rewriteConfig(yaml: string, port: number, adminPort: number, dbPath: string): string {
  let section = '';
  return yaml
    .split('\n')
    .map((line) => {
      const top = /^(\w+):\s*$/.exec(line);
      if (top) section = top[1];
      if (section === 'tcp' && /^\s+port:/.test(line)) return line.replace(/port:.*/, `port: ${port}`);
      if (section === 'admin' && /^\s+port:/.test(line)) return line.replace(/port:.*/, `port: ${adminPort}`);
      if (section === 'db' && /^\s+defaultPath:/.test(line)) return line.replace(/defaultPath:.*/, `defaultPath: ${dbPath}`);
      return line;
    })
    .join('\n');
}
