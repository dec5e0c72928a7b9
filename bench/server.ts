/**
 * `npm run bench:server`: requests per second of one tiny POST handler, bare and behind
 * each idempotency middleware, in one run on loopback, printed as ratios to the bare
 * handler of the same framework. Each request carries a fresh key, so every middleware
 * does its full first-request work (claim, run, store). Not a test.
 *
 * BENCH_DURATION (seconds, default 5), BENCH_CONNECTIONS (default 20) and BENCH_ROUNDS
 * (default 2) tune the run. Targets take turns, round after round, and each keeps its best
 * round: other load on the machine can only slow a round down, never speed it up.
 *
 * `--only node,node+submit-once` runs some targets (the bare baselines are added);
 * `--profile [dir]` (default: the system temp dir) runs each target under `node --cpu-prof` and prints its top frames by
 * self time (profiling slows the targets: read its figures as shares, not as the costs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { hasRedisServer, startRedis, type RedisProcess } from '../test/server/redis-process.js';
import { printTopFrames } from './server/profile-top.js';
import { TARGETS, type TargetName } from './server/target-names.js';

const duration = Number(process.env.BENCH_DURATION ?? 5);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const rounds = Number(process.env.BENCH_ROUNDS ?? 2);
const body = JSON.stringify({ item: 'tea', qty: 1 });
const { values: flags } = parseArgs({ options: { only: { type: 'string' }, profile: { type: 'string' } }, args: normaliseProfileFlag(process.argv.slice(2)) });
const profileDir = flags.profile === undefined ? undefined : resolve(flags.profile === '' ? join(tmpdir(), 'submit-once-profiles') : flags.profile);
const PEER = 'express+@node-idempotency/core';
const selected = selectTargets(flags.only);

/** `--profile` may come without a directory. */
function normaliseProfileFlag(args: string[]): string[] {
  return args.flatMap((arg, i) => (arg === '--profile' && (args[i + 1] === undefined || args[i + 1]!.startsWith('--')) ? ['--profile='] : [arg]));
}

function selectTargets(only: string | undefined): readonly TargetName[] {
  if (only === undefined) return TARGETS;
  const wanted = new Set(only.split(',').map((name) => name.trim()));
  for (const name of wanted) if (!TARGETS.includes(name as TargetName)) throw new Error(`unknown target ${name}; one of ${TARGETS.join(', ')}`);
  // The bare handlers are the baselines every added cost is measured against.
  const anyExpress = [...wanted].some((name) => name.startsWith('express'));
  const anyNode = [...wanted].some((name) => name.startsWith('node'));
  return TARGETS.filter((t) => wanted.has(t) || (t === 'node' && anyNode) || ((t === 'express' || t === PEER) && anyExpress));
}

interface Row {
  readonly target: TargetName;
  readonly rps: number;
  readonly p99: number;
  /** Server CPU time per request, µs. */
  readonly cpuPerRequest: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly replays: string;
}

async function startTarget(name: TargetName, redisUrl: string | undefined, profile: string | undefined): Promise<{ url: string; child: ChildProcess }> {
  // A directory per target: tsx's loader thread writes a profile of its own beside the main thread's.
  const profiling = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const child = spawn(process.execPath, [...profiling, '--import', 'tsx', 'bench/server/targets.ts', name, ...(redisUrl === undefined ? [] : [redisUrl])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT (\d+)/.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/orders`, child };
}

/** Sends one key twice: does the second answer come from the stored response? */
async function checkReplay(url: string): Promise<string> {
  const key = randomUUID();
  const send = () => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key }, body });
  const first = await (await send()).text();
  const second = await (await send()).text();
  return second === first ? 'yes' : 'no';
}

function load(url: string, seconds = duration): Promise<autocannon.Result> {
  return autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json' },
    body,
    requests: [
      {
        setupRequest: (req: autocannon.Request) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }),
      },
    ],
  });
}

/** The main thread's profile: the largest one in the target's directory. */
function mainThreadProfile(dir: string): string {
  const files = readdirSync(dir).map((name) => join(dir, name));
  return files.reduce((a, b) => (statSync(a).size >= statSync(b).size ? a : b));
}

async function cpuMicros(url: string): Promise<number> {
  return Number(await (await fetch(new URL('/__bench/cpu', url))).text());
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function main(): Promise<void> {
  let redis: RedisProcess | undefined;
  if (hasRedisServer()) redis = await startRedis();
  else console.warn('redis-server not on PATH: skipping the Redis target');
  const best = new Map<TargetName, Row>();
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const target of selected) {
        if (target.includes('redis') && redis === undefined) continue;
        const profile = profileDir === undefined ? undefined : join(profileDir, `${target.replace(/[^\w+.-]+/g, '_')}.round${round}`);
        if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
        const { url, child } = await startTarget(target, redis?.url, profile);
        try {
          const replays = target === 'node' || target === 'express' ? '-' : await checkReplay(url);
          await load(url, 1); // warm-up, on the same path as the measured run
          const cpuBefore = await cpuMicros(url);
          const result = await load(url);
          const cpuPerRequest = (await cpuMicros(url)) - cpuBefore;
          const row: Row = {
            target,
            rps: result.requests.average,
            p99: result.latency.p99,
            cpuPerRequest: cpuPerRequest / Math.max(1, result.requests.total),
            non2xx: result.non2xx,
            errors: result.errors,
            replays,
          };
          const previous = best.get(target);
          best.set(target, {
            ...(previous === undefined || previous.rps < row.rps ? row : previous),
            cpuPerRequest: Math.min(previous?.cpuPerRequest ?? Infinity, row.cpuPerRequest),
          });
          process.stderr.write(`  round ${round} ${target}: ${Math.round(row.rps)} req/s, ${Math.round(row.cpuPerRequest)} µs CPU/req\n`);
        } finally {
          await stop(child);
        }
        if (profile !== undefined) {
          const file = mainThreadProfile(profile);
          console.log(`\n${target}, round ${round}: top frames by self time (${file})`);
          printTopFrames(file, 15);
        }
      }
    }
  } finally {
    await redis?.stop();
  }
  const rows = selected.flatMap((t) => best.get(t) ?? []);
  print(rows);
}

function print(rows: Row[]): void {
  const baseline = (target: TargetName): Row | undefined =>
    rows.find((r) => r.target === (target.startsWith('node') ? 'node' : 'express'));
  const added = (r: Row): number | undefined => {
    const base = baseline(r.target);
    return base === undefined || base === r ? undefined : r.cpuPerRequest - base.cpuPerRequest;
  };
  const peer = rows.find((r) => r.target === PEER);
  const peerAdded = peer === undefined ? undefined : added(peer);
  console.log(`\n${new Date().toISOString().slice(0, 10)}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}, best of ${rounds} rounds of ${duration} s x ${connections} connections, fresh key per request\n`);
  console.log('| target | req/s | vs bare | server CPU µs/req | added over bare | added vs @node-idempotency/core | p99 ms | non-2xx | replays a repeat |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|:---:|');
  for (const r of rows) {
    const base = baseline(r.target);
    const ratio = base === undefined ? '-' : `${(r.rps / base.rps).toFixed(2)}x`;
    const extra = added(r);
    const extraText = extra === undefined ? '' : `${extra >= 0 ? '+' : ''}${Math.round(extra)}`;
    const peerRatio = extra === undefined || peerAdded === undefined || peerAdded <= 0 ? '' : `${(extra / peerAdded).toFixed(2)}x`;
    console.log(
      `| ${r.target} | ${Math.round(r.rps)} | ${ratio} | ${Math.round(r.cpuPerRequest)} | ${extraText} | ${peerRatio} | ${r.p99} | ${r.non2xx + r.errors} | ${r.replays} |`,
    );
  }
}

await main();
