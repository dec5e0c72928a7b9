import { fileURLToPath } from 'node:url';
import { fileStore, type FileStoreOptions } from './stores/file.js';
import { memoryStore } from './stores/memory.js';
import { postgresStore, type PgPoolLike } from './stores/postgres.js';
import { redisStore, type RedisLikeClient } from './stores/redis.js';
import type { IdempotencyStore } from './stores/types.js';

/**
 * Opens a store from the CLI's `--store` value: `memory`, `file:PATH`, `redis:URL`
 * (`redis://…` alone works too) or `postgres:URL` (`postgres://…` alone works too).
 * ioredis and pg are imported only when asked for; `fileOptions` apply to `file:` only.
 */
export async function openStoreSpec(spec: string, fileOptions: FileStoreOptions = {}): Promise<IdempotencyStore> {
  if (spec === 'memory') return memoryStore();
  if (spec.startsWith('file:')) return fileStore(filePathOf(spec), fileOptions);
  if (spec.startsWith('redis:') || spec.startsWith('rediss:')) {
    // Accepted: redis://host:port, redis:redis://host:port, redis:host:port.
    const rest = /^rediss?:\/\//.test(spec) ? spec : spec.slice(spec.indexOf(':') + 1);
    const client = await connectRedis(rest.includes('://') ? rest : `redis://${rest}`);
    return redisStore(client, { closeClient: true });
  }
  if (spec.startsWith('postgres:') || spec.startsWith('postgresql:')) {
    // Accepted: postgres://…, postgresql://…, postgres:postgres://…
    const url = /^postgres(ql)?:\/\//.test(spec) ? spec : spec.slice(spec.indexOf(':') + 1);
    return postgresStore(await connectPostgres(url), { closePool: true });
  }
  throw new Error(`unknown --store ${JSON.stringify(spec)}: use memory, file:PATH, redis:URL or postgres:URL`);
}

/**
 * The path of a `file:` spec: `file:PATH` as written, or a `file:///…` URL decoded. Read as
 * a path, `file://./keys.jsonl` would be `/keys.jsonl`, at the file system's root: a URL
 * with a host, or none at all, is refused.
 */
export function filePathOf(spec: string): string {
  const rest = spec.slice('file:'.length);
  if (!rest.startsWith('//')) {
    if (rest === '') throw new Error('--store file: needs a path, e.g. file:./keys.jsonl');
    return rest;
  }
  let path = '';
  try {
    path = fileURLToPath(spec);
  } catch {
    // A host (file://./x, file://server/x) or a bad escape: no local path.
  }
  if (path === '' || path.endsWith('/')) {
    throw new Error(`--store file:// needs an absolute file URL such as file:///var/keys.jsonl (or file:PATH, e.g. file:./keys.jsonl), got ${JSON.stringify(spec)}`);
  }
  return path;
}

interface IoredisModule {
  Redis: new (url: string, options: Record<string, unknown>) => RedisLikeClient & {
    connect(): Promise<void>;
    on(event: 'error', listener: (error: Error) => void): unknown;
  };
}

async function connectRedis(url: string): Promise<RedisLikeClient> {
  let mod: IoredisModule;
  try {
    mod = (await import('ioredis')) as unknown as IoredisModule;
  } catch (error) {
    throw new Error('--store redis:URL needs the ioredis package: npm install ioredis', { cause: error });
  }
  // Fail fast rather than queue commands while Redis is down: the middleware answers 503.
  const client = new mod.Redis(url, { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`cannot connect to Redis at ${withoutPassword(url)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return client;
}

interface PgModule {
  Pool: new (options: { connectionString: string; max?: number }) => PgPoolLike & {
    on(event: 'error', listener: (error: Error) => void): unknown;
  };
}

async function connectPostgres(url: string): Promise<PgPoolLike> {
  let mod: PgModule;
  try {
    const imported = (await import('pg')) as unknown as PgModule & { default?: PgModule };
    mod = imported.default ?? imported;
  } catch (error) {
    throw new Error('--store postgres:URL needs the pg package: npm install pg', { cause: error });
  }
  const pool = new mod.Pool({ connectionString: url });
  // An idle connection that drops is replaced on the next query; the middleware answers 503 meanwhile.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end?.().catch(() => undefined);
    throw new Error(`cannot connect to Postgres at ${withoutPassword(url)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  return pool;
}

/**
 * A connection URL or `--store` spec fit for a log line: the password is never printed.
 * Not through `URL`: `postgres:postgres://u:p@h` parses as a path, with no password.
 */
export function withoutPassword(spec: string): string {
  // To the last @ before the path, as a URL parser reads an unescaped @ in a password.
  return (
    spec
      .replace(/\/\/([^:/@]*):[^/?#]*@/, '//$1:***@')
      // pg and ioredis take options from the query too: ?password=, &sslpassword=.
      .replace(/([?&][^=&#]*password=)[^&#]*/gi, '$1***')
  );
}
