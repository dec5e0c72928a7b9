import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { freePort, waitUntil } from './ports.js';

export interface PostgresProcess {
  /** `postgres://postgres@127.0.0.1:PORT/postgres`, trust authentication. */
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
}

/**
 * The directory holding `initdb` and `postgres`: $PG_BIN, else the newest Debian
 * `/usr/lib/postgresql/N/bin` (Debian keeps them off PATH), else PATH.
 */
export function postgresBinDir(): string | undefined {
  const candidates: string[] = [];
  if (process.env.PG_BIN !== undefined) candidates.push(process.env.PG_BIN);
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    const versions = readdirSync(debian).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    candidates.push(...versions.map((v) => join(debian, v, 'bin')));
  }
  for (const dir of candidates) if (existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  return spawnSync('initdb', ['--version'], { stdio: 'ignore' }).status === 0 ? '' : undefined;
}

export function hasPostgres(): boolean {
  return postgresBinDir() !== undefined;
}

/**
 * `initdb` and `postgres` refuse to run as root: when we are root, run them as the
 * `postgres` system user (Debian's package creates it) through spawn's uid/gid, so
 * signals reach postgres itself and not a `runuser` wrapper.
 */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  if (!Number.isInteger(uid) || uid <= 0 || !Number.isInteger(gid)) {
    throw new Error('running as root and there is no `postgres` user to run initdb/postgres as');
  }
  return { uid, gid };
}

/**
 * Starts a throwaway PostgreSQL cluster: `initdb` into a temp dir, `postgres` on a free
 * loopback port with its unix socket in that dir; resolves once it accepts queries.
 * `stop()` shuts it down (fast mode) and deletes the dir. Durability settings are off:
 * the tests kill our processes, never the database.
 */
export async function startPostgres(): Promise<PostgresProcess> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL binaries (initdb, postgres) not found; set PG_BIN');
  const exe = (name: string): string => (bin === '' ? name : join(bin, name));
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'submit-once-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const ids = user === undefined ? {} : { uid: user.uid, gid: user.gid };

  const init = spawnSync(exe('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], {
    cwd: dir,
    encoding: 'utf8',
    ...ids,
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}):\n${init.stdout}\n${init.stderr}`);
  }

  const port = await freePort();
  const child: ChildProcess = spawn(
    exe('postgres'),
    [
      '-D', data, '-p', String(port), '-k', dir,
      '-c', 'listen_addresses=127.0.0.1',
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off',
      '-c', 'max_connections=200',
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], ...ids },
  );
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < 20_000) output += chunk.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGINT is postgres's "fast" shutdown: aborts sessions, exits in well under a second.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await waitUntil(
      async () => {
        if (child.exitCode !== null) throw new Error('exited');
        const client = new pg.Client({ connectionString: url });
        try {
          await client.connect();
          await client.query('SELECT 1');
          return true;
        } finally {
          await client.end().catch(() => undefined);
        }
      },
      20_000,
      () => `postgres did not accept connections on port ${port}:\n${output}`,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, port, stop };
}

/** Whether the Postgres tests can run here; in CI a missing Postgres fails the run instead of skipping them. */
export function postgresAvailable(): boolean {
  const available = hasPostgres();
  if (!available && process.env.CI !== undefined) {
    throw new Error('PostgreSQL (initdb, postgres) is not installed, and CI is set: the Postgres store must be tested in CI.');
  }
  return available;
}

/**
 * For one `describe`: a Postgres of its own and a pool on it (an idle client's error heard,
 * as an application's pool would), and `cleanup`, run newest first after each test.
 */
export function postgresPerSuite(max = 10): { readonly pool: pg.Pool; readonly cleanup: Array<() => Promise<void>> } {
  let server: PostgresProcess | undefined;
  let pool: pg.Pool | undefined;
  const cleanup: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    server = await startPostgres();
    pool = new pg.Pool({ connectionString: server.url, max });
    pool.on('error', () => undefined);
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  afterAll(async () => {
    await pool?.end();
    await server?.stop();
  });
  return {
    get pool() {
      if (pool === undefined) throw new Error('postgresPerSuite: the pool exists once beforeAll has run');
      return pool;
    },
    cleanup,
  };
}
