/**
 * A private RabbitMQ node (Debian's rabbitmq-server) on loopback: its own node name, ports,
 * mnesia/log/config dirs under a temp dir chowned to `rabbitmq`, and no plugins enabled.
 * Other RabbitMQ nodes on the machine (and the shared epmd) are left alone.
 */
import { execFile } from 'node:child_process';
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processGroupOf } from '../cpu';
import { type BrokerHandle, freePort, killGroup, spawnGroup, tail, tempDir, track, waitForAmqp } from './common';

const run = promisify(execFile);

export async function startRabbitMQ(timeoutMs = 90_000): Promise<BrokerHandle> {
  const dir = tempDir('rabbitmq');
  const [port, distPort] = [await freePort(), await freePort()];
  const node = `warrenbench${process.pid}@localhost`;
  const p = (name: string) => join(dir.path, name);
  mkdirSync(p('mnesia'));
  mkdirSync(p('log'));
  writeFileSync(p('rabbitmq.conf'), [`listeners.tcp.default = ${port}`, 'loopback_users = none', ''].join('\n'));
  writeFileSync(p('enabled_plugins'), '[].\n');
  await run('chown', ['-R', 'rabbitmq:rabbitmq', dir.path]);

  const env = {
    ...process.env,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: p('mnesia'),
    RABBITMQ_LOG_BASE: p('log'),
    RABBITMQ_PID_FILE: p('rabbit.pid'),
    RABBITMQ_ENABLED_PLUGINS_FILE: p('enabled_plugins'),
    RABBITMQ_CONFIG_FILE: p('rabbitmq'),
  };
  let child = spawnGroup('rabbitmq-server', [], { env });
  let log = tail(child);

  const stopNode = async () => {
    try {
      // a node with a long backlog takes a while to stop cleanly
      await run('rabbitmqctl', ['-n', node, 'stop', p('rabbit.pid')], { timeout: 120_000 });
    } catch {
      /* fall through to signals */
    }
    killBeam(p('rabbit.pid'));
    await killGroup(child, 10_000);
  };
  const stop = async () => {
    await stopNode();
    dir.remove();
  };
  const handle = track({ name: 'RabbitMQ', url: `amqp://guest:guest@127.0.0.1:${port}`, pgid: child.pid, stop });
  try {
    await waitForAmqp(handle.url, child, timeoutMs, log);
    // `su` puts the Erlang VM in a session of its own: account CPU to the VM's process group
    handle.pgid = processGroupOf(beamPid(p('rabbit.pid'))) ?? handle.pgid;
    handle.restart = async () => {
      await stopNode();
      const spawnedAt = performance.now();
      child = spawnGroup('rabbitmq-server', [], { env });
      log = tail(child);
      await waitForAmqp(handle.url, child, timeoutMs * 3, log, 20);
      handle.pgid = processGroupOf(beamPid(p('rabbit.pid'))) ?? child.pid;
      return { spawnedAt, acceptedAt: performance.now() };
    };
    return handle;
  } catch (err) {
    await handle.stop();
    throw err;
  }
}

function beamPid(pidFile: string): number {
  try {
    return Number(readFileSync(pidFile, 'utf8').trim()) || 0;
  } catch {
    return 0;
  }
}

/** If rabbitmqctl could not stop it, kill the Erlang VM by the pid it wrote. */
function killBeam(pidFile: string): void {
  const pid = beamPid(pidFile);
  try {
    if (pid > 0) process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}
