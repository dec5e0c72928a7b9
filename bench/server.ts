/**
 * `npm run bench:server`: the CPU one tiny POST handler costs per request, bare and behind
 * each idempotency middleware, on loopback. Each request carries a fresh key, so every
 * middleware does its full first-request work (claim, run, store). Not a test.
 *
 * Built for a noisy machine: every target runs at once, in several processes each
 * (BENCH_PROCESSES, default 4), and so does the bare baseline of each pair, apart from
 * every other pair's (a baseline shared by the pairs was loaded more often, and warmer,
 * than any target), and the load goes to one process at a time in short
 * slices, each target's slice right next to one of its bare baseline (same framework) in
 * a rotating order (`server/schedule.ts`). Round r is served by the r-th process of every
 * target (cycling), each warmed up first. A target's added cost is computed per round from
 * that adjacent pair, then its median over the rounds with a 95% bootstrap interval that
 * resamples the processes as well as the rounds (`server/summary.ts`; the difference from
 * `@node-idempotency/core` also from the two targets' slices alone): a process's own
 * luck (JIT decisions, heap layout) shifts every round it serves, and with one process per
 * target the intervals could not see it (a no-op middleware measured +72 µs, 15 to 192).
 * The servers run compiled (`server/compile.ts`), not under tsx's loader, on their own
 * core, away from the load generator (`server/pinning.ts`), and with V8's memory reducer
 * off (see V8_FLAGS). A second table says where each slice's time went: the collector's
 * pauses, V8's and libuv's helper threads, preemptions, other processes on the server core.
 *
 * BENCH_SLICES (rounds, default 16), BENCH_SLICE_SECONDS (default 1), BENCH_CONNECTIONS
 * (default 20), BENCH_PROCESSES (default 4), BENCH_WARMUP_SECONDS (per process, default
 * 1), BENCH_PIN=0 (no pinning) and BENCH_MEMORY_REDUCER=1 (V8's default) tune the run;
 * BENCH_SAMPLES=<file> also writes its rounds there, for `server/pool.ts` to read several
 * runs as one. The default full run takes about 5 minutes. `--only node+submit-once,express+submit-once(memory)` runs some targets (their
 * bare baselines and the peer are added; add `express+noop`, the control, to check the
 * method); `--profile [dir]` (default: the system temp dir) runs one process per target
 * under tsx and `node --cpu-prof` and prints its top frames and files by self time
 * (profiling slows the targets: read its figures as shares, not as the costs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { hasRedisServer, startRedis, type RedisProcess } from '../test/server/redis-process.js';
import { compileTargets } from './server/compile.js';
import { coreBusyMicros } from './server/core-busy.js';
import { pinCores, type Pinning } from './server/pinning.js';
import type { RunSamples } from './server/pool.js';
import { printTopFrames } from './server/profile-top.js';
import { roundOrder } from './server/schedule.js';
import { againstMemory, formatMicros, formatRatio, marginOverMemory, summarise, type StoreTarget } from './server/summary.js';
import { ON_DEMAND, PEER, TARGETS, type TargetName } from './server/target-names.js';
import { median } from './stats.js';

const slices = Number(process.env.BENCH_SLICES ?? 16);
const sliceSeconds = Number(process.env.BENCH_SLICE_SECONDS ?? 1);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 20);
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 1);
const body = JSON.stringify({ item: 'tea', qty: 1 });
const { values: flags } = parseArgs({ options: { only: { type: 'string' }, profile: { type: 'string' } }, args: normaliseProfileFlag(process.argv.slice(2)) });
const profileDir = flags.profile === undefined ? undefined : resolve(flags.profile === '' ? join(tmpdir(), 'submit-once-profiles') : flags.profile);
// A profile is read per target, as shares: one process each is enough.
const processes = profileDir === undefined ? Math.max(1, Number(process.env.BENCH_PROCESSES ?? 4)) : 1;
/** Issue 11's store targets: file within 1.1x of memory's CPU per request; Redis's added CPU at most 2x memory's. */
const STORE_TARGETS: ReadonlyArray<readonly [TargetName, StoreTarget]> = [
  ['express+submit-once(file)', { measure: 'cpu', factor: 1.1 }],
  ['express+submit-once(redis)', { measure: 'added', factor: 2 }],
];
/**
 * A server process is loaded for one slice, then idles while the others are measured (tens
 * of seconds in a full run). Left on, V8's memory reducer fires a few seconds into that
 * idleness, shrinks the heap and throws away optimised code, so every slice began by
 * recompiling (TurboFan on helper threads) and regrowing the heap: a cost a server under
 * steady load never pays, and larger the more code and heap a target has.
 */
const V8_FLAGS = process.env.BENCH_MEMORY_REDUCER === '1' ? [] : ['--no-memory-reducer'];

/** `--profile` may come without a directory. */
function normaliseProfileFlag(args: string[]): string[] {
  return args.flatMap((arg, i) => (arg === '--profile' && (args[i + 1] === undefined || args[i + 1]!.startsWith('--')) ? ['--profile='] : [arg]));
}

const isBare = (target: TargetName): boolean => target === 'node' || target === 'express';
const bareOf = (target: TargetName): TargetName => (target.startsWith('node') ? 'node' : 'express');

function selectTargets(only: string | undefined, redis: boolean): readonly TargetName[] {
  const available = TARGETS.filter((t) => redis || !t.includes('redis'));
  if (only === undefined) return available.filter((t) => !ON_DEMAND.includes(t));
  const wanted = new Set(only.split(',').map((name) => name.trim()));
  for (const name of wanted) if (!TARGETS.includes(name as TargetName)) throw new Error(`unknown target ${name}; one of ${TARGETS.join(', ')}`);
  // The bare handlers are the baselines every added cost is measured against; the peer is the yardstick.
  const anyExpress = [...wanted].some((name) => name.startsWith('express'));
  return available.filter((t) => wanted.has(t) || [...wanted].some((w) => bareOf(w as TargetName) === t) || (t === PEER && anyExpress));
}

/** One server process of a target. */
interface Server {
  readonly url: string;
  readonly child: ChildProcess;
  readonly profile: string | undefined;
}

interface Target {
  readonly name: TargetName;
  /** A bare baseline's are those of every pair it is the baseline of. */
  readonly servers: Server[];
  replays: string;
  failed: number;
}

/** How a server process is started: the compiled bundle, or tsx's loader for a profile. */
interface Launch {
  readonly entry: readonly string[];
  readonly pinning: Pinning;
}

async function startServer(name: TargetName, replica: number, launch: Launch, redisUrl: string | undefined): Promise<Server> {
  // A directory per target: tsx's loader thread writes a profile of its own beside the main thread's.
  const profile = profileDirOf(name);
  const profiling = profile === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profile}`];
  const [command, ...prefix] = [...launch.pinning.serverPrefix, process.execPath];
  const child = spawn(command!, [...prefix, ...V8_FLAGS, ...profiling, ...launch.entry, name, ...(redisUrl === undefined ? [] : [redisUrl])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /PORT (\d+)/.exec(out);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} #${replica} exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/orders`, child, profile };
}

function profileDirOf(name: TargetName): string | undefined {
  return profileDir === undefined ? undefined : join(profileDir, name.replace(/[^\w+.-]+/g, '_'));
}

async function startServers(name: TargetName, launch: Launch, redisUrl: string | undefined): Promise<Server[]> {
  const servers: Server[] = [];
  // One at a time: dozens of processes starting at once would only queue on two cores.
  for (let replica = 0; replica < processes; replica++) servers.push(await startServer(name, replica, launch, redisUrl));
  return servers;
}

/** Sends one key twice: does the second answer come from the stored response? */
async function checkReplay(url: string): Promise<boolean> {
  const key = randomUUID();
  const send = () => fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key }, body });
  const first = await (await send()).text();
  const second = await (await send()).text();
  return second === first;
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

/** The process's own counters (`targets.ts`): CPU and collector µs, involuntary context switches. */
interface Counters {
  readonly user: number;
  readonly system: number;
  readonly minorGc: number;
  readonly otherGc: number;
  readonly preempted: number;
  readonly mainThread: number;
}

async function counters(url: string): Promise<Counters> {
  const [user, system, minorGc, otherGc, preempted, mainThread] = (await (await fetch(new URL('/__bench/cpu', url))).text()).split(' ').map(Number);
  return { user: user!, system: system!, minorGc: minorGc!, otherGc: otherGc!, preempted: preempted!, mainThread: mainThread! };
}

interface SliceResult {
  readonly cpu: number;
  readonly user: number;
  readonly system: number;
  readonly rps: number;
  /** The collector's pauses, µs/req: scavenges, and the rest (marking, compaction). */
  readonly minorGc: number;
  readonly otherGc: number;
  /** Involuntary context switches per 1000 requests. */
  readonly preempted: number;
  /** CPU µs/req of the threads other than the main one (V8's collector and compiler helpers, libuv's pool). */
  readonly helpers: number;
  /** Busy time of the server cores not spent by this process, µs per second of the slice (NaN unpinned). */
  readonly others: number;
}

/** One slice of load on one server process: its CPU µs per request (read in the process) and req/s. */
async function slice(target: Target, server: Server, serverCores: readonly number[]): Promise<SliceResult> {
  const before = await counters(server.url);
  const busyBefore = serverCores.length === 0 ? undefined : coreBusyMicros(serverCores);
  const result = await load(server.url, sliceSeconds);
  const busyAfter = serverCores.length === 0 ? undefined : coreBusyMicros(serverCores);
  const after = await counters(server.url);
  target.failed += result.non2xx + result.errors;
  const requests = Math.max(1, result.requests.total);
  const per = (key: keyof Counters) => (after[key] - before[key]) / requests;
  const own = after.user - before.user + after.system - before.system;
  const others = busyBefore === undefined || busyAfter === undefined ? Number.NaN : (busyAfter - busyBefore - own) / sliceSeconds;
  return {
    cpu: per('user') + per('system'),
    user: per('user'),
    system: per('system'),
    rps: result.requests.total / sliceSeconds,
    minorGc: per('minorGc'),
    otherGc: per('otherGc'),
    preempted: per('preempted') * 1000,
    helpers: after.mainThread < 0 ? Number.NaN : per('user') + per('system') - per('mainThread'),
    others,
  };
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

const MEASURES = ['cpu', 'user', 'system', 'rps', 'minorGc', 'otherGc', 'preempted', 'helpers', 'others'] as const;
type Side = Record<(typeof MEASURES)[number], number[]>;

interface MutablePair {
  readonly target: Side;
  readonly bare: Side;
  readonly processes: number[];
}

const emptySide = (): Side => Object.fromEntries(MEASURES.map((key) => [key, []])) as unknown as Side;

async function main(): Promise<void> {
  const pinning = pinCores(process.env.BENCH_PIN !== '0');
  let redis: RedisProcess | undefined;
  // Started after pinning, so it inherits the load generator's core, not the servers':
  // Redis's work is not the server's (in production it has a machine of its own), and on
  // the servers' core it would take their time slices.
  if (hasRedisServer()) redis = await startRedis();
  else console.warn('redis-server not on PATH: skipping the Redis target');
  const selected = selectTargets(flags.only, redis !== undefined);
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const entry = profileDir === undefined ? [await compileTargets(process.cwd())] : ['--import', 'tsx', 'bench/server/targets.ts'];
  const load0 = loadavg()[0]!;
  const targets = new Map<TargetName, Target>();
  try {
    for (const name of selected) {
      const profile = profileDirOf(name);
      if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
      targets.set(name, { name, servers: [], replays: '-', failed: 0 });
    }
    const pairs = selected.filter((t) => !isBare(t)).map((t) => [t, bareOf(t)] as const);
    // Each pair has bare processes of its own: one bare process shared by every pair served
    // several times the slices of any target, and came to each warmer (an Express no-op
    // middleware measured +265 µs/req, 85 to 479, against a shared one).
    const pairServers: { readonly target: readonly Server[]; readonly bare: readonly Server[] }[] = [];
    for (const [name, bare] of pairs) {
      const own = await startServers(name, { entry, pinning }, redis?.url);
      const baseline = await startServers(bare, { entry, pinning }, redis?.url);
      targets.get(name)!.servers.push(...own);
      targets.get(bare)!.servers.push(...baseline);
      pairServers.push({ target: own, bare: baseline });
    }
    for (const [name] of pairs) {
      const target = targets.get(name)!;
      const replayed = await Promise.all(target.servers.map((server) => checkReplay(server.url)));
      target.replays = replayed.every(Boolean) ? 'yes' : 'no';
    }
    // Warm-up of every process, on the same path as the measured slices: the JIT, the stores' first records.
    for (const target of targets.values()) for (const server of target.servers) await load(server.url, warmupSeconds);
    const samples: MutablePair[] = pairs.map(() => ({ target: emptySide(), bare: emptySide(), processes: [] }));
    const started = Date.now();
    for (let round = 0; round < slices; round++) {
      const replica = round % processes;
      for (const { pair, side, name } of roundOrder(pairs, round)) {
        const result = await slice(targets.get(name)!, pairServers[pair]![side][replica]!, pinning.serverCores);
        for (const key of MEASURES) samples[pair]![side][key].push(result[key]);
      }
      for (const pair of samples) pair.processes.push(replica);
      process.stderr.write(`  round ${round + 1}/${slices} (${Math.round((Date.now() - started) / 1000)} s)\n`);
    }
    print(targets, pairs, samples, load0, pinning);
    printCounters(targets, pairs, samples);
    if (process.env.BENCH_SAMPLES !== undefined) writeSamples(process.env.BENCH_SAMPLES, new Date(started), pairs, samples);
  } finally {
    await Promise.all([...targets.values()].flatMap((target) => target.servers.map((server) => stop(server.child))));
    await redis?.stop();
  }
  for (const target of targets.values()) {
    const profile = target.servers[0]?.profile;
    if (profile === undefined) continue;
    // A bare baseline's processes (one per pair) all write here: the largest is read.
    const file = mainThreadProfile(profile);
    console.log(`\n${target.name}: top frames and files by self time (${file})`);
    printTopFrames(file, 15);
  }
}

/** `BENCH_SAMPLES=<file>`: the run's rounds as they were measured, for `server/pool.ts` to read several runs as one. */
function writeSamples(file: string, started: Date, pairs: ReadonlyArray<readonly [TargetName, TargetName]>, samples: readonly MutablePair[]): void {
  const run: RunSamples = {
    started: started.toISOString(),
    pairs: pairs.map(([target, bare], i) => {
      const { target: t, bare: b, processes } = samples[i]!;
      return { target, bare, samples: { target: { cpu: t.cpu, rps: t.rps }, bare: { cpu: b.cpu, rps: b.rps }, processes } };
    }),
  };
  writeFileSync(file, `${JSON.stringify(run)}\n`);
}

function print(targets: ReadonlyMap<TargetName, Target>, pairs: ReadonlyArray<readonly [TargetName, TargetName]>, samples: readonly MutablePair[], load0: number, pinning: Pinning): void {
  const peerIndex = pairs.findIndex(([t]) => t === PEER);
  const peer = peerIndex === -1 ? undefined : samples[peerIndex];
  console.log(
    `\n${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}, load average ${load0.toFixed(1)} at the start; ` +
      `${slices} rounds of ${sliceSeconds} s slices x ${connections} connections, each target's slice next to one of its bare baseline, fresh key per request; ` +
      `${processes} process${processes === 1 ? '' : 'es'} per target (round r on the r-th), each warmed up ${warmupSeconds} s, ${profileDir === undefined ? 'compiled' : 'under tsx'}, ${pinning.note}, ${V8_FLAGS.length === 0 ? "V8's memory reducer on" : "V8's memory reducer off"}; ` +
      `medians over the rounds, 95% bootstrap intervals (processes and rounds resampled) in brackets\n`,
  );
  console.log("| target | req/s | vs bare | server CPU µs/req | user / system | added over bare, µs/req | added vs @node-idempotency/core | added minus core's, µs/req | the same, from the targets' slices alone | failed | replays a repeat |");
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|');
  const split = (side: Side) => `${Math.round(median(side.user))} / ${Math.round(median(side.system))}`;
  for (const target of targets.values()) {
    const index = pairs.findIndex(([t]) => t === target.name);
    if (index === -1) {
      // A bare baseline has a slice next to every target of its framework: all of them count.
      const own = samples.filter((_, i) => pairs[i]![1] === target.name).map((s) => s.bare);
      const all = (key: keyof Side) => own.flatMap((side) => side[key]);
      const cpu = median(all('cpu'));
      const rps = median(all('rps'));
      console.log(`| ${target.name} | ${Math.round(rps)} | 1.00x | ${Math.round(cpu)} | ${Math.round(median(all('user')))} / ${Math.round(median(all('system')))} | | | | | ${target.failed} | - |`);
      continue;
    }
    // The peer is an Express middleware: only Express targets are compared with it.
    const s = summarise(samples[index]!, target.name.startsWith('express') ? peer : undefined);
    const vsPeer = s.vsPeer === undefined ? '' : formatRatio(s.vsPeer);
    const overPeer = s.overPeer === undefined ? '' : formatMicros(s.overPeer);
    const overPeerDirect = s.overPeerDirect === undefined ? '' : formatMicros(s.overPeerDirect);
    console.log(
      `| ${target.name} | ${Math.round(s.rps)} | ${formatRatio(s.rpsVsBare)} | ${Math.round(s.cpu)} | ${split(samples[index]!.target)} | ${formatMicros(s.added)} | ${vsPeer} | ${overPeer} | ${overPeerDirect} | ${target.failed} | ${target.replays} |`,
    );
  }
  const memoryIndex = pairs.findIndex(([t]) => t === 'express+submit-once(memory)');
  if (memoryIndex === -1) return;
  for (const [store, goal] of STORE_TARGETS) {
    const index = pairs.findIndex(([t]) => t === store);
    if (index === -1) continue;
    const { cpu, added } = againstMemory(samples[index]!, samples[memoryIndex]!);
    const margin = marginOverMemory(samples[index]!, samples[memoryIndex]!, goal);
    const figure = goal.measure === 'cpu' ? 'CPU per request' : 'added CPU';
    console.log(`\n${store} against express+submit-once(memory), same rounds: CPU per request ${formatRatio(cpu)}, added CPU ${formatRatio(added)}`);
    console.log(`  its ${figure} minus ${goal.factor}x memory's, round by round: ${formatMicros(margin)} (below 0: within issue 11's ${goal.factor}x)`);
  }
  for (const [floorIndex, [floor]] of pairs.entries()) {
    if (!floor.startsWith('express+floor')) continue;
    const overFloor = summarise(samples[memoryIndex]!, samples[floorIndex]!);
    console.log(`\nexpress+submit-once(memory) minus ${floor}, same rounds: added CPU ${formatMicros(overFloor.overPeer!)} µs/req; from the two targets' slices alone ${formatMicros(overFloor.overPeerDirect!)}`);
  }
}

/**
 * Where a slice's time went, medians over the slices: the collector's pauses, how often the
 * process was preempted, and how busy the server cores were with other processes (other
 * targets' idle work, other jobs on the machine) while it was loaded.
 */
function printCounters(targets: ReadonlyMap<TargetName, Target>, pairs: ReadonlyArray<readonly [TargetName, TargetName]>, samples: readonly MutablePair[]): void {
  console.log("\n| target | scavenges, µs/req | other collector pauses, µs/req | helper threads' CPU, µs/req | preempted per 1000 req | server cores busy with other processes, ms/s |");
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const target of targets.values()) {
    const index = pairs.findIndex(([t]) => t === target.name);
    const sides = index === -1 ? samples.filter((_, i) => pairs[i]![1] === target.name).map((s) => s.bare) : [samples[index]!.target];
    const m = (key: keyof Side, scale = 1, digits = 1) => (median(sides.flatMap((side) => side[key])) * scale).toFixed(digits);
    console.log(`| ${target.name} | ${m('minorGc')} | ${m('otherGc')} | ${m('helpers')} | ${m('preempted')} | ${m('others', 1 / 1000, 0)} |`);
  }
}

await main();
