import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { freePort, waitUntil } from './ports.js';

export interface RabbitMqProcess {
  /** `amqp://guest:guest@127.0.0.1:PORT` */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The broker's own start script. Debian's /usr/sbin/rabbitmq-server is a wrapper that
 * switches to the `rabbitmq` user and its system-wide node; the script under
 * /usr/lib/rabbitmq runs a node with whatever environment we give it.
 */
export function rabbitMqServerPath(): string | undefined {
  if (process.env.RABBITMQ_SERVER !== undefined) return process.env.RABBITMQ_SERVER;
  const lib = '/usr/lib/rabbitmq/lib';
  if (existsSync(lib)) {
    for (const release of readdirSync(lib).sort().reverse()) {
      const script = join(lib, release, 'sbin', 'rabbitmq-server');
      if (existsSync(script)) return script;
    }
  }
  return existsSync('/usr/lib/rabbitmq/bin/rabbitmq-server') ? '/usr/lib/rabbitmq/bin/rabbitmq-server' : undefined;
}

export function hasRabbitMq(): boolean {
  return rabbitMqServerPath() !== undefined && existsSync('/usr/bin/epmd');
}

/**
 * Starts a throwaway RabbitMQ node: its own Erlang port mapper (epmd) and node on free
 * loopback ports, every file (database, logs, config, Erlang cookie) in a temp dir, in
 * its own process group; resolves once it accepts AMQP connections (~4 s). `stop()`
 * ends the group and the port mapper and deletes the dir.
 */
export async function startRabbitMq(): Promise<RabbitMqProcess> {
  const script = rabbitMqServerPath();
  if (script === undefined) throw new Error('rabbitmq-server not found; set RABBITMQ_SERVER');
  const dir = mkdtempSync(join(tmpdir(), 'submit-once-rabbitmq-'));
  const [port, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
  // Guest may log in from 127.0.0.1 only by default; the disk alarm would block
  // publishers on a nearly full CI disk, which no test is about.
  writeFileSync(
    join(dir, 'rabbitmq.conf'),
    [`listeners.tcp.default = 127.0.0.1:${port}`, 'disk_free_limit.absolute = 1MB', 'log.console = true', 'log.file = false', ''].join('\n'),
  );
  writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    // Erlang writes its cookie to $HOME; a private one keeps this node apart from any other.
    HOME: dir,
    ERL_EPMD_PORT: String(epmdPort),
    RABBITMQ_NODENAME: `submit-once-${process.pid}-${port}@localhost`,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq'),
    RABBITMQ_ADVANCED_CONFIG_FILE: join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PLUGINS_EXPAND_DIR: join(dir, 'plugins-expand'),
    RABBITMQ_PID_FILE: join(dir, 'rabbitmq.pid'),
    // Not /etc/rabbitmq/rabbitmq-env.conf, which configures the system-wide node.
    RABBITMQ_CONF_ENV_FILE: join(dir, 'rabbitmq-env.conf'),
  };

  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < 50_000) output += chunk.toString();
  };
  // Our own port mapper, in the foreground, so it goes away with us (a `-daemon` one outlives the test).
  const epmd: ChildProcess = spawn('epmd', ['-port', String(epmdPort)], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  epmd.stderr?.on('data', collect);
  const broker: ChildProcess = spawn(script, [], { env, cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  broker.stdout?.on('data', collect);
  broker.stderr?.on('data', collect);
  const brokerExited = new Promise<void>((resolve) => broker.once('exit', () => resolve()));
  const epmdExited = new Promise<void>((resolve) => epmd.once('exit', () => resolve()));

  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    const group = broker.pid;
    if (group !== undefined && broker.exitCode === null && broker.signalCode === null) {
      // The start script, beam.smp and its helpers share the group: end them all.
      signalGroup(group, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(group, 'SIGKILL'), 10_000);
      await brokerExited;
      clearTimeout(timer);
    }
    if (broker.pid !== undefined) signalGroup(broker.pid, 'SIGKILL');
    if (epmd.exitCode === null && epmd.signalCode === null) {
      epmd.kill('SIGKILL');
      await epmdExited;
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntil(
      async () => {
        if (broker.exitCode !== null) return false;
        const connection = await connect(url);
        await connection.close();
        return true;
      },
      60_000,
      () => `rabbitmq-server did not accept AMQP on port ${port}:\n${output.slice(-5_000)}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, stop };
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // Already gone.
  }
}
