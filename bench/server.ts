/**
 * `npm run bench:server`: the CPU one tiny POST handler costs per request, bare and behind
 * each idempotency middleware, on loopback. Each request carries a fresh key, so every
 * middleware does its full first-request work (claim, run, store). Not a test.
 *
 * Built for a noisy machine: every target runs at once in its own process, and the load
 * goes to one at a time in short slices, each target's slice right next to one of its bare
 * baseline (same framework) in a rotating order (`server/schedule.ts`). A target's added
 * cost is computed per round from that adjacent pair, then its median over the rounds
 * with a 95% bootstrap interval (`server/summary.ts`), as is its ratio to
 * `@node-idempotency/core`'s added cost in the same rounds.
 *
 * BENCH_SLICES (rounds, default 16), BENCH_SLICE_SECONDS (default 1) and
 * BENCH_CONNECTIONS (default 20) tune the run; the default full run takes about 4 minutes.
 * `--only node+submit-once,express+submit-once(memory)` runs some targets (their bare
 * baselines and the peer are added); `--profile [dir]` (default: the system temp dir) runs
 * every target under `node --cpu-prof` and prints its top frames and files by self time
 * (profiling slows the targets: read its figures as shares, not as the costs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { hasRedisServer, startRedis, type RedisProcess } from '../test/server/redis-process.js';
import { printTopFrames } from './server/profile-top.js';
import { roundOrder } from './server/schedule.js';
import { againstMemory, summarise, type Estimate, type Pair } from './server/summary.js';
import { TARGETS, type TargetName } from './server/target-names.js';
import { median } from './stats.js';

const slices = Number(process.env.BENCH_SLICES ?? 16);
const sliceSeconds = Number(process.env.BENCH_SLICE_SECONDS ?? 1);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const body = JSON.stringify({ item: 'tea', qty: 1 });
const { values: flags } = parseArgs({ options: { only: { type: 'string' }, profile: { type: 'string' } }, args: normaliseProfileFlag(process.argv.slice(2)) });
const profileDir = flags.profile === undefined ? undefined : resolve(flags.profile === '' ? join(tmpdir(), 'submit-once-profiles') : flags.profile);
const PEER = 'express+@node-idempotency/core';

/** `--profile` may come without a directory. */
function normaliseProfileFlag(args: string[]): string[] {
  return args.flatMap((arg, i) => (arg === '--profile' && (args[i + 1] === undefined || args[i + 1]!.startsWith('--')) ? ['--profile='] : [arg]));
}

const isBare = (target: TargetName): boolean => target === 'node' || target === 'express';
const bareOf = (target: TargetName): TargetName => (target.startsWith('node') ? 'node' : 'express');

function selectTargets(only: string | undefined, redis: boolean): readonly TargetName[] {
  const available = TARGETS.filter((t) => redis || !t.includes('redis'));
  if (only === undefined) return available;
  const wanted = new Set(only.split(',').map((name) => name.trim()));
  for (const name of wanted) if (!TARGETS.includes(name as TargetName)) throw new Error(`unknown target ${name}; one of ${TARGETS.join(', ')}`);
  // The bare handlers are the baselines every added cost is measured against; the peer is the yardstick.
  const anyExpress = [...wanted].some((name) => name.startsWith('express'));
  return available.filter((t) => wanted.has(t) || [...wanted].some((w) => bareOf(w as TargetName) === t) || (t === PEER && anyExpress));
}

interface Target {
  readonly name: TargetName;
  readonly url: string;
  readonly child: ChildProcess;
  readonly profile: string | undefined;
  replays: string;
  failed: number;
}

async function startTarget(name: TargetName, redisUrl: string | undefined): Promise<Target> {
  // A directory per target: tsx's loader thread writes a profile of its own beside the main thread's.
  const profile = profileDir === undefined ? undefined : join(profileDir, name.replace(/[^\w+.-]+/g, '_'));
  if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
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
  return { name, url: `http://127.0.0.1:${port}/orders`, child, profile, replays: '-', failed: 0 };
}

/** Sends one key twice: does the second answer come from the stored response? */
async function checkReplay(url: string): Promise<string> {
  const key = randomUUID();
  const send = () => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key }, body });
  const first = await (await send()).text();
  const second = await (await send()).text();
  return second === first ? 'yes' : 'no';
}

function load(url: string, seconds: number): Promise<autocannon.Result> {
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

async function cpuMicros(url: string): Promise<number> {
  return Number(await (await fetch(new URL('/__bench/cpu', url))).text());
}

/** One slice of load on one target: its CPU µs per request (read in the target) and req/s. */
async function slice(target: Target): Promise<{ cpu: number; rps: number }> {
  const before = await cpuMicros(target.url);
  const result = await load(target.url, sliceSeconds);
  const cpu = (await cpuMicros(target.url)) - before;
  target.failed += result.non2xx + result.errors;
  return { cpu: cpu / Math.max(1, result.requests.total), rps: result.requests.total / sliceSeconds };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** The main thread's profile: the largest one in the target's directory. */
function mainThreadProfile(dir: string): string {
  const files = readdirSync(dir).map((name) => join(dir, name));
  return files.reduce((a, b) => (statSync(a).size >= statSync(b).size ? a : b));
}

interface MutablePair {
  readonly target: { cpu: number[]; rps: number[] };
  readonly bare: { cpu: number[]; rps: number[] };
}

async function main(): Promise<void> {
  let redis: RedisProcess | undefined;
  if (hasRedisServer()) redis = await startRedis();
  else console.warn('redis-server not on PATH: skipping the Redis target');
  const selected = selectTargets(flags.only, redis !== undefined);
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const load0 = loadavg()[0]!;
  const targets = new Map<TargetName, Target>();
  try {
    for (const target of await Promise.all(selected.map((name) => startTarget(name, redis?.url)))) targets.set(target.name, target);
    const pairs = selected.filter((t) => !isBare(t)).map((t) => [t, bareOf(t)] as const);
    for (const [name] of pairs) targets.get(name)!.replays = await checkReplay(targets.get(name)!.url);
    // Warm-up, on the same path as the measured slices: the JIT, the stores' first records.
    for (const target of targets.values()) await load(target.url, 1);
    const samples: MutablePair[] = pairs.map(() => ({ target: { cpu: [], rps: [] }, bare: { cpu: [], rps: [] } }));
    const started = Date.now();
    for (let round = 0; round < slices; round++) {
      for (const { pair, side, name } of roundOrder(pairs, round)) {
        const { cpu, rps } = await slice(targets.get(name)!);
        samples[pair]![side].cpu.push(cpu);
        samples[pair]![side].rps.push(rps);
      }
      process.stderr.write(`  round ${round + 1}/${slices} (${Math.round((Date.now() - started) / 1000)} s)\n`);
    }
    print(targets, pairs, samples, load0);
  } finally {
    await Promise.all([...targets.values()].map((target) => stop(target.child)));
    await redis?.stop();
  }
  for (const target of targets.values()) {
    if (target.profile === undefined) continue;
    const file = mainThreadProfile(target.profile);
    console.log(`\n${target.name}: top frames and files by self time (${file})`);
    printTopFrames(file, 15);
  }
}

function print(targets: ReadonlyMap<TargetName, Target>, pairs: ReadonlyArray<readonly [TargetName, TargetName]>, samples: readonly Pair[], load0: number): void {
  const peerIndex = pairs.findIndex(([t]) => t === PEER);
  const peer = peerIndex === -1 ? undefined : samples[peerIndex];
  const us = (e: Estimate) => `${e.median >= 0 ? '+' : ''}${Math.round(e.median)} (${Math.round(e.low)} to ${Math.round(e.high)})`;
  const times = (e: Estimate) => `${e.median.toFixed(2)}x (${e.low.toFixed(2)} to ${e.high.toFixed(2)})`;
  console.log(
    `\n${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}, load average ${load0.toFixed(1)} at the start; ` +
      `${slices} rounds of ${sliceSeconds} s slices x ${connections} connections, each target's slice next to one of its bare baseline, fresh key per request; medians over the rounds, 95% bootstrap intervals in brackets\n`,
  );
  console.log("| target | req/s | vs bare | server CPU µs/req | added over bare, µs/req | added vs @node-idempotency/core | added minus core's, µs/req | failed | replays a repeat |");
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|:---:|');
  for (const target of targets.values()) {
    const index = pairs.findIndex(([t]) => t === target.name);
    if (index === -1) {
      // A bare baseline has a slice next to every target of its framework: all of them count.
      const own = samples.filter((_, i) => pairs[i]![1] === target.name);
      const cpu = median(own.flatMap((s) => [...s.bare.cpu]));
      const rps = median(own.flatMap((s) => [...s.bare.rps]));
      console.log(`| ${target.name} | ${Math.round(rps)} | 1.00x | ${Math.round(cpu)} | | | | ${target.failed} | - |`);
      continue;
    }
    // The peer is an Express middleware: only Express targets are compared with it.
    const s = summarise(samples[index]!, target.name.startsWith('express') ? peer : undefined);
    const vsPeer = s.vsPeer === undefined ? '' : times(s.vsPeer);
    const overPeer = s.overPeer === undefined ? '' : us(s.overPeer);
    console.log(
      `| ${target.name} | ${Math.round(s.rps)} | ${times(s.rpsVsBare)} | ${Math.round(s.cpu)} | ${us(s.added)} | ${vsPeer} | ${overPeer} | ${target.failed} | ${target.replays} |`,
    );
  }
  const memoryIndex = pairs.findIndex(([t]) => t === 'express+submit-once(memory)');
  if (memoryIndex === -1) return;
  for (const store of ['express+submit-once(file)', 'express+submit-once(redis)'] as const) {
    const index = pairs.findIndex(([t]) => t === store);
    if (index === -1) continue;
    const { cpu, added } = againstMemory(samples[index]!, samples[memoryIndex]!);
    console.log(`\n${store} against express+submit-once(memory), same rounds: CPU per request ${times(cpu)}, added CPU ${times(added)}`);
  }
}

await main();
