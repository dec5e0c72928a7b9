/**
 * The middleware's own CPU per request without sockets, for A/B decisions on the request
 * path: `node --import tsx bench/server/in-process.ts [--framework node|express]
 * [--store memory|file|redis] [--rounds 24] [--block 3000] [--base dir] [--tree dir]`. Each variant's request
 * listener is driven in this one process with real `IncomingMessage` and `ServerResponse`
 * objects over a null socket (the body already pushed; no client, no kernel), 10
 * requests at a time, a fresh key each; the variants take turns in blocks, in a random
 * order each round, each block after a full collection, and each block reads the main
 * thread's CPU (`/proc/thread-self/schedstat`: other processes on the machine cost it
 * little, V8's helper threads nothing). Prints each variant's µs a request, and per round
 * the middleware's difference from the bare framework and, with `--base` (a copy of `src`
 * at another commit, e.g. `git archive main src | tar -x -C .tmp/base`), from that copy;
 * `--tree` (default `.`) is the other side, so that two copies of one tree can be
 * compared to check the method. Medians with a 95% paired bootstrap interval.
 * `--count-async` counts the async resources each variant creates a request instead.
 * `--store file` gives each variant a file store of its own in a temporary directory
 * (its syncs run on the thread pool, which the main thread's CPU does not count);
 * `--cpu process` reads the whole process's CPU instead (every thread, V8's helpers too).
 * `--floors` (Express) adds `floor.ts`'s yardsticks that keep one string a key, that
 * keep nothing and that keep answers in this package's memory store, each against bare
 * and against this tree. `--core` (Express, memory) adds
 * `@node-idempotency/core` with its memory adapter, wired as `bench:server`'s, against bare
 * and this tree: issue 11's peer without the sockets' noise.
 * `--store redis` puts every variant but bare on a Redis store (a `redis-server` of its
 * own, a client each, as `bench:server`'s): only this process's CPU is read, not Redis's.
 *
 * The variants are compiled (esbuild, as `bench:server`'s servers), not run under tsx.
 */
import { createHook } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { IncomingMessage, ServerResponse } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Duplex } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { build } from 'esbuild';
import express from 'express';
import { hasRedisServer, startRedis } from '../../test/server/redis-process.js';
import { nodeIdempotencyCore, redisClient } from './apps.js';
import { median, pairedInterval, xorshift32 } from '../stats.js';
import { floorMiddleware, ourStoreFloor } from './floor.js';
import { expressHandler, nodeHandler } from './handlers.js';

type Listener = (req: IncomingMessage, res: ServerResponse) => void;
type ServerModule = typeof import('../../src/server/index.js');

const { values: flags } = parseArgs({
  options: {
    framework: { type: 'string', default: 'node' },
    store: { type: 'string', default: 'memory' },
    cpu: { type: 'string', default: 'main' },
    rounds: { type: 'string', default: '24' },
    block: { type: 'string', default: '3000' },
    base: { type: 'string' },
    tree: { type: 'string', default: '.' },
    'count-async': { type: 'boolean', default: false },
    floors: { type: 'boolean', default: false },
    core: { type: 'boolean', default: false },
  },
});
const rounds = Number(flags.rounds);
const block = Number(flags.block);
const CONCURRENCY = 10;
const body = Buffer.from(JSON.stringify({ item: 'tea', qty: 1 }));

/** Swallows what the response writes; `cork`/`uncork` and the write callback as a socket's. */
class NullSocket extends Duplex {
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: string, callback: () => void): void {
    callback();
  }
}

function expressApp(...middleware: express.RequestHandler[]): Listener {
  const app = express();
  app.use(express.json());
  app.post('/orders', ...middleware, expressHandler);
  return app as unknown as Listener;
}

if (flags.store === 'redis' && !hasRedisServer()) throw new Error('--store redis needs redis-server on PATH');
const redis = flags.store === 'redis' ? await startRedis() : undefined;
const storeDir = flags.store === 'file' ? mkdtempSync(join(tmpdir(), 'submit-once-in-process-')) : undefined;
process.on('exit', () => storeDir !== undefined && rmSync(storeDir, { recursive: true, force: true }));

function storeOf(server: ServerModule, name: string): ReturnType<ServerModule['memoryStore']> {
  if (redis !== undefined) return server.redisStore(redisClient(redis.url), { prefix: `${randomUUID()}:` });
  return storeDir === undefined ? server.memoryStore() : server.fileStore(join(storeDir, `${name}.jsonl`));
}

function listener(server: ServerModule | undefined, name: string): Listener {
  if (server === undefined) return flags.framework === 'express' ? expressApp() : nodeHandler;
  const guard = server.idempotency({ store: storeOf(server, name) });
  return flags.framework === 'express' ? expressApp(guard as unknown as express.RequestHandler) : guard.handler(nodeHandler);
}

/** Compiles `src/server/index.ts` under `root` to one module, so both sides run as compiled code. */
async function compiled(root: string, name: string): Promise<ServerModule> {
  const dir = resolve('node_modules', '.cache', 'submit-once-in-process');
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, `${name}.mjs`);
  await build({ entryPoints: [resolve(root, 'src/server/index.ts')], outfile, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'warning' });
  return (await import(pathToFileURL(outfile).href)) as ServerModule;
}

function one(app: Listener): Promise<void> {
  const socket = new NullSocket();
  const req = new IncomingMessage(socket as never);
  req.method = 'POST';
  req.url = '/orders';
  req.httpVersionMajor = 1;
  req.httpVersionMinor = 1;
  req.httpVersion = '1.1';
  const key = randomUUID();
  req.rawHeaders = ['Host', '127.0.0.1', 'Content-Type', 'application/json', 'Content-Length', String(body.length), 'Idempotency-Key', key];
  req.headers = { host: '127.0.0.1', 'content-type': 'application/json', 'content-length': String(body.length), 'idempotency-key': key };
  // As Node's parser leaves a whole request: else the request's end destroys the socket.
  req.complete = true;
  req.push(body);
  req.push(null);
  const res = new ServerResponse(req);
  res.assignSocket(socket as never);
  return new Promise((done) => {
    res.on('finish', () => {
      if (res.statusCode !== 201) throw new Error(`answered ${res.statusCode}`);
      done();
    });
    app(req, res);
  });
}

async function serve(app: Listener, requests: number): Promise<void> {
  for (let i = 0; i < requests; i += CONCURRENCY) await Promise.all(Array.from({ length: CONCURRENCY }, () => one(app)));
}

/**
 * `--count-async`: instead of timing, the async resources (promises, ticks, timers) each
 * variant creates per request, over one block after one of warm-up: a count that does
 * not move with the load on the machine.
 */
async function countAsync(): Promise<void> {
  const created = new Map<string, number>();
  let counting = false;
  const hook = createHook({ init: (_id, type) => void (counting && created.set(type, (created.get(type) ?? 0) + 1)) }).enable();
  for (const { name, app } of variants) {
    await serve(app, block);
    created.clear();
    counting = true;
    await serve(app, block);
    counting = false;
    console.log(`  ${name.padEnd(28)} ${[...created].map(([type, count]) => `${type} ${(count / block).toFixed(2)}`).join(', ')} a request`);
  }
  hook.disable();
}

/** `items` in a random order (Fisher-Yates): no variant follows another more often than chance. */
function shuffled(items: number[], random: () => number): number[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const mainThreadNanos = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
const processNanos = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
};
const cpuNanos = flags.cpu === 'process' ? processNanos : mainThreadNanos;

/**
 * With `--base`, each side is loaded twice, in the order tree, base, base, tree, and each
 * side's figure per round is the mean of its two copies: two copies of one tree, loaded
 * one after the other, measured 4 to 5 µs a request apart on node:http (the first loaded
 * the cheaper), whatever the order of their blocks.
 */
const variants: Array<{ name: string; app: Listener }> = [{ name: 'bare', app: listener(undefined, 'bare') }];
const copies = flags.base === undefined ? [['this tree', flags.tree]] : [['this tree', flags.tree], ['base', flags.base], ['base', flags.base], ['this tree', flags.tree]];
for (const [i, [name, root]] of copies.entries()) variants.push({ name: `${name} (${root}) #${i}`, app: listener(await compiled(root!, `variant-${i}`), `variant-${i}`) });

// `--floors` and `--core`: yardsticks and the peer as variants too, after the copies of `src`.
const firstYardstick = variants.length;
if (flags.floors) {
  if (flags.framework !== 'express') throw new Error('--floors needs --framework express (the floors are Express middleware)');
  for (const keep of ['one string', 'nothing'] as const) variants.push({ name: `floor(${keep})`, app: expressApp(floorMiddleware({ keep })) });
  variants.push({ name: 'floor(our store)', app: expressApp(ourStoreFloor()) });
}
if (flags.core) {
  if (flags.framework !== 'express' || flags.store !== 'memory') throw new Error('--core needs --framework express and the memory store (core runs on its memory adapter)');
  variants.push({ name: '@node-idempotency/core', app: expressApp(nodeIdempotencyCore()) });
}

if (flags['count-async']) {
  await countAsync();
  await redis?.stop();
  process.exit(0);
}

console.log(`in-process, ${flags.framework}, ${flags.store} store, ${flags.cpu} CPU: ${rounds} rounds of ${block} requests per variant; loadavg ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
for (const { app } of variants) await serve(app, block);
const micros = variants.map(() => [] as number[]);
const random = xorshift32(0x2545f491);
for (let r = 0; r < rounds; r++) {
  for (const v of shuffled(variants.map((_, i) => i), random)) {
    // Each block starts with a clean young generation: else it pays for collecting the
    // garbage of the block before it (which measured as 6 µs a request on node:http
    // between two copies of the same code, the one run after bare against the other).
    collect();
    const before = cpuNanos();
    await serve(variants[v]!.app, block);
    micros[v]!.push((cpuNanos() - before) / 1000 / block);
  }
}

const fmt = (x: number): string => (x >= 0 ? '+' : '') + x.toFixed(1);
const diff = (a: number[], b: number[]): number => median(a.map((x, i) => x - b[i]!));
const mean = (a: number[], b: number[]): number[] => a.map((x, i) => (x + b[i]!) / 2);
const interval = (a: number[], b: number[]): string => {
  const [lo, hi] = pairedInterval([a, b], diff);
  return `${fmt(diff(a, b))} (${fmt(lo)} to ${fmt(hi)}) µs/req`;
};
for (const [v, { name }] of variants.entries()) console.log(`  ${name.padEnd(28)} ${median(micros[v]!).toFixed(1)} µs/req`);
const tree = flags.base === undefined ? micros[1]! : mean(micros[1]!, micros[4]!);
console.log(`  this tree over bare: ${interval(tree, micros[0]!)}`);
for (let v = firstYardstick; v < variants.length; v++) console.log(`  ${variants[v]!.name} over bare: ${interval(micros[v]!, micros[0]!)}; this tree minus it: ${interval(tree, micros[v]!)}`);
if (flags.base !== undefined) {
  const base = mean(micros[2]!, micros[3]!);
  console.log(`  base over bare: ${interval(base, micros[0]!)}`);
  console.log(`  this tree minus base: ${interval(tree, base)}`);
  console.log(`  (the copies loaded first minus those loaded second: ${interval(mean(micros[1]!, micros[2]!), mean(micros[3]!, micros[4]!))})`);
}
console.log(`loadavg ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
await redis?.stop();
process.exit(0);
