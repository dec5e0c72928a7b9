/**
 * Several `bench:server` runs read as one: `node --import tsx bench/server/pool.ts
 * <samples.json>...`, each file written by a run with `BENCH_SAMPLES=<file>`. The rounds of
 * every run are put together per target, and each run's processes stay groups of their own
 * (process 3 of one run shares no luck with process 3 of another), so the intervals
 * resample all the runs' processes: five runs of 8 processes give an interval from 40.
 * Prints, per target, its added CPU over bare, req/s against bare, and its added CPU minus
 * `@node-idempotency/core`'s, both from the adjacent bare slices and from the two targets'
 * slices alone, and ours (memory) minus each floor, as `bench:server` does for one run.
 * `--minus <a>,<b>` (repeatable) also prints target a minus target b, from the same rounds.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatMicros, formatRatio, summarise, type Pair, type Slices } from './summary.js';
import { PEER, type TargetName } from './target-names.js';

const OURS: TargetName = 'express+submit-once(memory)';

/** What `bench:server` writes with `BENCH_SAMPLES`: per pair of a target and its bare baseline, the rounds as measured. */
export interface RunSamples {
  readonly started: string;
  readonly pairs: ReadonlyArray<{ readonly target: string; readonly bare: string; readonly samples: Pair & { readonly processes: readonly number[] } }>;
}

const joined = (a: Slices, b: Slices): Slices => ({ cpu: [...a.cpu, ...b.cpu], rps: [...a.rps, ...b.rps] });

/**
 * Each target's rounds from every run, in run order, its processes renumbered so no two
 * runs share one. Refuses runs whose pairs differ: a target pooled from fewer runs than its
 * peer would be compared with rounds it did not share.
 */
export function pooledPairs(runs: readonly RunSamples[]): Map<string, Pair> {
  const names = (run: RunSamples) => run.pairs.map((p) => `${p.target} vs ${p.bare}`).join(', ');
  for (const run of runs) if (names(run) !== names(runs[0]!)) throw new Error(`runs differ in their targets: ${names(run)} against ${names(runs[0]!)}`);
  const pooled = new Map<string, Pair>();
  let offset = 0;
  for (const run of runs) {
    for (const { target, samples } of run.pairs) {
      const processes = samples.processes.map((p) => p + offset);
      const before = pooled.get(target);
      pooled.set(
        target,
        before === undefined
          ? { target: samples.target, bare: samples.bare, processes }
          : { target: joined(before.target, samples.target), bare: joined(before.bare, samples.bare), processes: [...before.processes!, ...processes] },
      );
    }
    offset += 1 + Math.max(...run.pairs.flatMap((p) => p.samples.processes));
  }
  return pooled;
}

/**
 * The report's lines for `runs` pooled: the table, then ours (memory) minus each floor in
 * the runs, then each asked `[a, b]` as a minus b. Throws on an asked target not in the runs.
 */
export function poolReport(runs: readonly RunSamples[], asked: ReadonlyArray<readonly [string, string]> = []): string[] {
  const pairs = pooledPairs(runs);
  const peer = pairs.get(PEER);
  const processes = [...pairs.values()][0]?.processes ?? [];
  const lines = [
    `${runs.length} runs (${runs.map((r) => r.started).join(', ')}), ${processes.length} rounds, ${new Set(processes).size} processes a target; medians, 95% intervals resampling every run's processes`,
    "| target | added over bare, µs/req | req/s vs bare | added minus core's, µs/req | the same, from the targets' slices alone |",
    '|---|---:|---:|---:|---:|',
  ];
  for (const [name, pair] of pairs) {
    const s = summarise(pair, name.startsWith('express') ? peer : undefined);
    const orBlank = (e: typeof s.overPeer) => (e === undefined ? '' : formatMicros(e));
    lines.push(`| ${name} | ${formatMicros(s.added)} | ${formatRatio(s.rpsVsBare)} | ${orBlank(s.overPeer)} | ${orBlank(s.overPeerDirect)} |`);
  }
  const floors = [...pairs.keys()].filter((name) => name.startsWith('express+floor'));
  for (const [a, b] of [...(pairs.has(OURS) ? floors.map((floor) => [OURS, floor] as const) : []), ...asked]) {
    const first = pairs.get(a);
    const second = pairs.get(b);
    if (first === undefined || second === undefined) throw new Error(`--minus ${a},${b}: no such target in these runs`);
    const s = summarise(first, second);
    lines.push('', `${a} minus ${b}, same rounds: added CPU ${formatMicros(s.overPeer!)} µs/req; from the two targets' slices alone ${formatMicros(s.overPeerDirect!)}`);
  }
  return lines;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values, positionals: files } = parseArgs({ options: { minus: { type: 'string', multiple: true, default: [] } }, allowPositionals: true });
  if (files.length === 0) throw new Error('usage: pool.ts [--minus a,b]... <samples.json>...');
  const asked = values.minus.map((pair): [string, string] => {
    const [a, b, ...rest] = pair.split(',');
    if (a === undefined || b === undefined || rest.length > 0) throw new Error(`--minus ${pair}: expected two targets, a,b`);
    return [a, b];
  });
  const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as RunSamples);
  console.log(poolReport(runs, asked).join('\n'));
}
