/**
 * The real verifier (`src/server/bin.ts` under tsx) and redis-server as child processes,
 * so a trial can kill -9 them and start them again on the same port and the same data.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ownRoot = fileURLToPath(new URL('../..', import.meta.url));

export interface VerifierConfig {
  upstream: string;
  /** `--store` value: `file:PATH` or `redis:URL`. */
  store: string;
  leaseMs: number;
  /** Passes `--recovery` (rerun an unknown outcome, marked as a recovery). */
  recovery: boolean;
  /** The checkout whose `src/server/bin.ts` runs; default this one. */
  root?: string | undefined;
}

/** A verifier process that can be killed and restarted on the same port and store. */
export class VerifierProcess {
  #child: ChildProcess | undefined;
  #port = 0;
  #output = '';
  /** Set by stop(): a restart still pending in a trial that ran out of time must not start an orphan. */
  #stopped = false;

  constructor(private readonly config: VerifierConfig) {}

  get port(): number {
    return this.#port;
  }

  /** The verifier's stdout and stderr so far (for a report when it misbehaves). */
  get output(): string {
    return this.#output;
  }

  /** Starts it: on a port of its choosing the first time, on that same port after a kill. */
  async start(): Promise<void> {
    if (this.#stopped) throw new Error('this verifier was stopped for good');
    const args = ['--import', 'tsx', 'src/server/bin.ts', '--port', String(this.#port), '--upstream', this.config.upstream, '--store', this.config.store, '--lease-ms', String(this.config.leaseMs)];
    if (this.config.recovery) args.push('--recovery');
    const child = spawn(process.execPath, args, { cwd: this.config.root ?? ownRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    const listening = new Promise<number>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        this.#output += chunk.toString('utf8');
        const match = /listening on http:\/\/[^:]+:(\d+)/.exec(this.#output.slice(-400));
        if (match) resolve(Number(match[1]));
      };
      child.stdout?.on('data', onData);
      child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString('utf8')));
      child.once('exit', (code, signal) => reject(new Error(`verifier exited (${code ?? signal ?? '?'}) before listening:\n${this.#output.slice(-2000)}`)));
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      this.#port = await listening;
    } finally {
      clearTimeout(timer);
    }
  }

  /** kill -9: no shutdown hook runs, in-flight handlers and unsaved state are gone. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  }
}

/** A free loopback port, for servers (redis-server) that cannot be told `--port 0`. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * redis-server with an append-only file fsynced on every write, so kill -9 and a restart
 * lose nothing it acknowledged: lost Redis data would show up as a false duplicate.
 */
export class RedisProcess {
  #child: ChildProcess | undefined;
  #port = 0;
  #output = '';
  #stopped = false;

  constructor(private readonly dir: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.#port}`;
  }

  async start(): Promise<void> {
    if (this.#stopped) throw new Error('this redis-server was stopped for good');
    if (this.#port === 0) this.#port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(this.#port), '--bind', '127.0.0.1', '--dir', this.dir, '--appendonly', 'yes', '--appendfsync', 'always', '--save', '', '--daemonize', 'no', '--loglevel', 'warning'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.#child = child;
    child.stdout?.on('data', (chunk: Buffer) => (this.#output += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.#output += chunk.toString('utf8')));
    let up = false;
    const exited = once(child, 'exit').then(() => {
      if (!up) throw new Error(`redis-server exited before accepting connections:\n${this.#output.slice(-2000)}`);
    });
    await Promise.race([waitForPort(this.#port), exited]);
    up = true;
  }

  /** SIGSTOP: connections stay open but nothing answers (a stalled store). */
  pause(): void {
    this.#child?.kill('SIGSTOP');
  }

  resume(): void {
    this.#child?.kill('SIGCONT');
  }

  /** kill -9 (after SIGCONT, in case it is paused); `start()` brings it back on its data. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGCONT');
    child.kill('SIGKILL');
    await exited;
  }

  /** For good: a restart still pending afterwards refuses to start. */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.kill();
  }
}

async function waitForPort(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 200; i += 1) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nothing listens on ${port}`);
}
