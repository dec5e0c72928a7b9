/**
 * What each target keeps per request and what its garbage collector spends:
 * `node --import tsx bench/server/retention.ts [requests] target...` (default 20 000
 * requests; Express bare, ours on memory, @node-idempotency/core). Each target runs in a
 * process of its own (started with `--expose-gc`), loaded in that process: the heap kept
 * after a full collection, per request, and the collector's time per request while the
 * load ran (a `PerformanceObserver` on 'gc'), and how many minor (scavenge) and major
 * (mark-compact) collections ran per 1000 requests, and the bytes the scavenger copied per
 * request (`--trace-gc-nvp`, see `scavengerCopies`). A store keeps every key for its
 * retention, so what one key keeps is what a long-running server's collector has to
 * walk. The heap kept and the counts barely move with the load on the machine; the
 * collector's time does (its pauses stretch when other processes take the cores).
 */
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { constants, performance, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { build } from './apps.js';
import { keepAliveLoad } from './keep-alive-load.js';
import { TARGETS, type TargetName } from './target-names.js';

async function measure(name: TargetName, requests: number): Promise<string> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const server = createServer(await build(name, undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const load = keepAliveLoad((server.address() as AddressInfo).port);
  await load.run(Math.min(2000, requests));
  let gcMs = 0;
  let minor = 0;
  let major = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
      else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) major++;
    }
  });
  gc();
  const before = process.memoryUsage().heapUsed;
  observer.observe({ entryTypes: ['gc'] });
  const from = performance.now();
  await load.run(requests);
  const to = performance.now();
  observer.disconnect();
  const collecting = gcMs;
  gc();
  gc();
  const kept = process.memoryUsage().heapUsed - before;
  load.close();
  const perThousand = (count: number): string => ((count * 1000) / requests).toFixed(2);
  const row = `| ${name} | ${Math.round(kept / requests)} | ${((collecting * 1000) / requests).toFixed(1)} | ${perThousand(minor)} | ${perThousand(major)} |`;
  return JSON.stringify({ row, from, to });
}

/**
 * Bytes the scavenger copied (kept in the young generation or promoted) per request, from
 * the child's `--trace-gc-nvp` lines inside the load's window (their times, like
 * `performance.now()`, count from the process's start). An object that survives a minor
 * collection is copied, and promoted at the second: what a request keeps alive while
 * others run is paid there, and this figure, unlike the collector's time, does not move
 * with the load on the machine.
 */
function scavengerCopies(trace: string, from: number, to: number, requests: number): number {
  let copied = 0;
  for (const line of trace.split('\n')) {
    const at = /^\[[^\]]*\]\s+(\d+) ms: .*\bgc=s\b/.exec(line);
    if (at === null || Number(at[1]) < from || Number(at[1]) > to) continue;
    const promoted = /\bpromoted=(\d+)/.exec(line);
    const survived = /\bnew_space_survived=(\d+)/.exec(line);
    copied += Number(promoted?.[1] ?? 0) + Number(survived?.[1] ?? 0);
  }
  return Math.round(copied / requests);
}

const self = fileURLToPath(import.meta.url);
if (process.argv[1] === self) {
  const args = process.argv.slice(2);
  if (args[0] === '--child') {
    // Written to stderr: stdout carries V8's trace, which it buffers apart from Node's writes.
    console.error(`RESULT ${await measure(args[1] as TargetName, Number(args[2]))}`);
    process.exit(0);
  }
  const requests = /^\d+$/.test(args[0] ?? '') ? Number(args.shift()) : 20_000;
  const names = args.length === 0 ? ['express', 'express+submit-once(memory)', 'express+@node-idempotency/core'] : args;
  for (const name of names) if (!TARGETS.includes(name as TargetName) || name.includes('redis')) throw new Error(`unknown or unsupported target ${name}`);
  console.log(`${requests} requests per target, each target in its own process\n`);
  console.log('| target | heap kept per request, B | collector per request, µs | minor collections per 1000 requests | major collections per 1000 requests | copied by the scavenger per request, B |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const name of names) {
    const child = spawnSync(process.execPath, ['--expose-gc', '--trace-gc-nvp', '--import', 'tsx', self, '--child', name, String(requests)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 256 * 1024 * 1024,
    });
    const result = /^RESULT (.*)$/m.exec(child.stderr)?.[1];
    if (child.status !== 0 || result === undefined) throw new Error(`${name} failed (${child.status}): ${child.stderr}`);
    const { row, from, to } = JSON.parse(result) as { row: string; from: number; to: number };
    console.log(`${row} ${scavengerCopies(child.stdout, from, to, requests)} |`);
  }
}
