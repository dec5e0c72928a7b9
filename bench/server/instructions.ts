/**
 * Instructions a request, counted by Valgrind's callgrind in a real server on real sockets:
 * `node --import tsx bench/server/instructions.ts [--requests n] [--warmup n] [--concurrency n] [--cache] [--perf-map] target...`
 * Unlike time, a count does not move with the load on the machine, so two targets can be
 * told apart by a few hundred instructions where `bench:server` needs many runs for 10 µs.
 * Each target runs alone under `valgrind --tool=callgrind` (the compiled bundle, plain
 * `node`); instrumentation is switched on only around the measured requests, after a warm-up,
 * and the count is split by thread (the main thread; V8's and libuv's helpers).
 * Needs `valgrind` (Debian: `apt-get install valgrind`). A count is not a time: cache
 * misses and the kernel's share (system calls, wake-ups) are not in it. `--cache` adds
 * callgrind's cache and branch simulation (a model's misses, not this CPU's); `--perf-map`
 * names V8's compiled code and prints the main thread's instructions by function, and each
 * target's excess over the first target named, by function.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { perfMapNamer, selfCosts } from './callgrind-file.js';
import { compileTargets } from './compile.js';
import { keepAliveLoad } from './keep-alive-load.js';
import { TARGETS, type TargetName } from './target-names.js';

const args = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at === -1) return fallback;
  const [value] = args.splice(at, 2).slice(1);
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} takes a positive integer`);
  return n;
}
const requests = option('--requests', 2000);
const warmup = option('--warmup', 3000);
const concurrency = option('--concurrency', 10);
// V8 writes /tmp/perf-<pid>.map, naming its compiled code's addresses, for callgrind's own files.
const perfMap = args.includes('--perf-map') ? (args.splice(args.indexOf('--perf-map'), 1), true) : false;
// Cache and branch simulation: slower, and a model of a cache, not this machine's.
const simulate = args.includes('--cache') ? (args.splice(args.indexOf('--cache'), 1), true) : false;
const targets = args as TargetName[];
for (const t of targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t}`);
if (targets.length === 0) throw new Error('name one target or more');

const bundle = await compileTargets(resolve(import.meta.dirname, '../..'));
const dir = mkdtempSync(join(tmpdir(), 'submit-once-instructions-'));

/** Events a thread, by callgrind's names (Ir, and with --cache D1mr, DLmr, Bcm, ...). */
type Events = Map<string, number>;
interface Count {
  main: Events;
  helpers: Events;
  /** The main thread's own instructions by function (with `--perf-map`). */
  byFunction?: Map<string, number>;
}

async function count(target: TargetName, index: number): Promise<Count> {
  const out = join(dir, `t${index}.out`);
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', '--instr-atstart=no', ...(simulate ? ['--cache-sim=yes', '--branch-sim=yes'] : []), '--separate-threads=yes', '--smc-check=all-non-file', `--callgrind-out-file=${out}`,
      process.execPath, '--no-memory-reducer', ...(perfMap ? ['--perf-basic-prof'] : []), bundle, target],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const port = await new Promise<number>((ok, fail) => {
    let text = '';
    child.stdout.on('data', (c: Buffer) => {
      text += c.toString();
      const m = /PORT (\d+)/.exec(text);
      if (m) ok(Number(m[1]));
    });
    child.once('exit', (code) => fail(new Error(`${target} exited ${code}: ${stderr.slice(-2000)}`)));
  });
  const load = keepAliveLoad(port, concurrency);
  await load.run(warmup);
  execFileSync('callgrind_control', ['-i', 'on', String(child.pid)], { stdio: 'ignore' });
  await load.run(requests);
  execFileSync('callgrind_control', ['-i', 'off', String(child.pid)], { stdio: 'ignore' });
  load.close();
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGTERM');
  await exited;
  const mapFile = `/tmp/perf-${child.pid}.map`;
  const namer = perfMap ? perfMapNamer(readFileSync(mapFile, 'utf8')) : undefined;
  if (perfMap) rmSync(mapFile);
  // One file a thread (`<out>-01`, `-02`, ...); thread 1 is the main thread.
  const main: Events = new Map();
  const helpers: Events = new Map();
  let byFunction: Map<string, number> | undefined;
  for (const file of readdirSync(dir).filter((f) => f.startsWith(`t${index}.out-`))) {
    const text = readFileSync(join(dir, file), 'utf8');
    const names = /^events: (.+)$/m.exec(text)?.[1]?.trim().split(/\s+/) ?? [];
    const totals = /^totals: (.+)$/m.exec(text)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
    const into = /-0*1$/.test(file) ? main : helpers;
    if (namer !== undefined && into === main) byFunction = selfCosts(text, 'Ir', namer);
    names.forEach((name, i) => into.set(name, (into.get(name) ?? 0) + (totals[i] ?? 0)));
  }
  return { main, helpers, ...(byFunction !== undefined ? { byFunction } : {}) };
}

// Ir: instructions; D1mr/D1mw: first-level data cache misses (read/write); DLmr/DLmw: last-level; Bcm/Bim: mispredicted branches.
const shown = simulate ? ['Ir', 'D1mr', 'D1mw', 'DLmr', 'DLmw', 'Bcm', 'Bim'] : ['Ir'];
console.log(`callgrind, ${requests} requests after ${warmup} of warm-up, ${concurrency} at a time; a request: Ir in thousands, the rest as counts (main thread / all threads)`);
console.log(`| target | ${shown.join(' | ')} |\n|---|${shown.map(() => '---:').join('|')}|`);
const functions: [TargetName, Map<string, number>][] = [];
for (const [i, target] of targets.entries()) {
  const { main, helpers, byFunction } = await count(target, i);
  if (byFunction !== undefined) functions.push([target, byFunction]);
  const per = (name: string, events: Events[]): string => {
    const n = events.reduce((sum, e) => sum + (e.get(name) ?? 0), 0) / requests;
    return name === 'Ir' ? (n / 1000).toFixed(1) : n.toFixed(0);
  };
  console.log(`| ${target} | ${shown.map((name) => `${per(name, [main])} / ${per(name, [main, helpers])}`).join(' | ')} |`);
}
/** The `rows` largest values, instructions a request, a name each. */
function top(costs: Map<string, number>, rows: number): string {
  return [...costs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, rows)
    .map(([name, n]) => `| ${(n / requests).toFixed(0)} | ${name.replace(/\|/g, '\\|').slice(0, 140)} |`)
    .join('\n');
}
// With --perf-map: where each target's main thread spends, and, for each target after the
// first, by function what it spends beyond the first (the first being the bare baseline).
const [base] = functions;
for (const [target, costs] of functions) {
  console.log(`\n${target}, main thread, own instructions a request by function\n| Ir | function |\n|---:|---|\n${top(costs, 25)}`);
  if (base === undefined || base[1] === costs) continue;
  const extra = new Map([...new Set([...costs.keys(), ...base[1].keys()])].map((name) => [name, (costs.get(name) ?? 0) - (base[1].get(name) ?? 0)]));
  console.log(`\n${target} minus ${base[0]}, by function\n| Ir | function |\n|---:|---|\n${top(extra, 30)}`);
}
console.log(`files: ${dir}`);
