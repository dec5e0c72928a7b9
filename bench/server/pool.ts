/**
 * Several `bench:server` runs read as one: `node --import tsx bench/server/pool.ts
 * <samples.json>...`, each file written by a run with `BENCH_SAMPLES=<file>`. The rounds of
 * every run are put together per target, and each run's processes stay groups of their own
 * (process 3 of one run shares no luck with process 3 of another), so the intervals
 * resample all the runs' processes: five runs of 8 processes give an interval from 40.
 * Prints, per target, its added CPU over bare, req/s against bare, and its added CPU minus
 * `@node-idempotency/core`'s, both from the adjacent bare slices and from the two targets'
 * slices alone, as `bench:server` does for one run.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { summarise, type Estimate, type Pair } from './summary.js';

/** What `bench:server` writes with `BENCH_SAMPLES`: per pair, each side's measures a round, and which process served it. */
export interface RunSamples {
  readonly started: string;
  readonly pairs: ReadonlyArray<{
    readonly target: string;
    readonly bare: string;
    readonly samples: { readonly target: SideSamples; readonly bare: SideSamples; readonly processes: readonly number[] };
  }>;
}

interface SideSamples {
  readonly cpu: readonly number[];
  readonly rps: readonly number[];
}

/**
 * Each target's rounds from every run that has it, in run order, its processes renumbered
 * so no two runs share one. Refuses runs whose pairs differ: a target pooled from fewer
 * runs than its peer would be compared with rounds it did not share.
 */
export function pooledPairs(runs: readonly RunSamples[]): Map<string, Pair> {
  const names = (run: RunSamples) => run.pairs.map((p) => `${p.target} vs ${p.bare}`).join(', ');
  for (const run of runs) if (names(run) !== names(runs[0]!)) throw new Error(`runs differ in their targets: ${names(run)} against ${names(runs[0]!)}`);
  const pooled = new Map<string, { target: SideSamples; bare: SideSamples; processes: number[] }>();
  let offset = 0;
  for (const run of runs) {
    let most = 0;
    for (const { target, samples } of run.pairs) {
      const into = pooled.get(target) ?? { target: { cpu: [], rps: [] }, bare: { cpu: [], rps: [] }, processes: [] };
      into.target = { cpu: [...into.target.cpu, ...samples.target.cpu], rps: [...into.target.rps, ...samples.target.rps] };
      into.bare = { cpu: [...into.bare.cpu, ...samples.bare.cpu], rps: [...into.bare.rps, ...samples.bare.rps] };
      into.processes.push(...samples.processes.map((p) => p + offset));
      pooled.set(target, into);
      most = Math.max(most, ...samples.processes.map((p) => p + 1));
    }
    offset += most;
  }
  return pooled;
}

const PEER = 'express+@node-idempotency/core';

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = process.argv.slice(2);
  if (files.length === 0) throw new Error('usage: pool.ts <samples.json>...');
  const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as RunSamples);
  const pairs = pooledPairs(runs);
  const peer = pairs.get(PEER);
  const us = (e: Estimate | undefined) => (e === undefined ? '' : `${e.median >= 0 ? '+' : ''}${Math.round(e.median)} (${Math.round(e.low)} to ${Math.round(e.high)})`);
  const groups = new Set(pairs.values().next().value?.processes).size;
  console.log(`${runs.length} runs (${runs.map((r) => r.started).join(', ')}), ${pairs.values().next().value?.processes?.length ?? 0} rounds, ${groups} processes a target; medians, 95% intervals resampling every run's processes`);
  console.log('| target | added over bare, µs/req | req/s vs bare | added minus core\'s, µs/req | the same, from the targets\' slices alone |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, pair] of pairs) {
    const s = summarise(pair, name.startsWith('express') ? peer : undefined);
    const ratio = `${s.rpsVsBare.median.toFixed(2)}x (${s.rpsVsBare.low.toFixed(2)} to ${s.rpsVsBare.high.toFixed(2)})`;
    console.log(`| ${name} | ${us(s.added)} | ${ratio} | ${us(s.overPeer)} | ${us(s.overPeerDirect)} |`);
  }
}
