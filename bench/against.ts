/**
 * `node --import tsx bench/against.ts [ref]` (default `main`): this tree's client against
 * `ref`'s, in one headless Chromium page, submissions interleaved request by request,
 * without the network and over loopback. Prints each build's median and the paired
 * difference (new - old) with a 95% interval, in total and split where `fetch()` is called;
 * `after` split again where the answer arrives, and the caller's part of it stops where
 * the caller has its Response (before it reads the body): the client's CPU alone. Every
 * caller then reads the body (`text()`), inside `total` and `after`; the last phase is
 * that read alone (the client may move work into it: its first caller's reads record).
 * `ref`'s `src` is checked out under `.tmp/` for the run and removed after.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleEntry } from '../scripts/bundle.js';
import { withBenchPage } from './page-server.js';
import { median, pairedInterval } from './stats.js';

const ref = process.argv[2] ?? 'main';
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 600);
const root = fileURLToPath(new URL('..', import.meta.url));

type Sample = [total: number, before: number, after: number, wire: number, answered: number, read: number, fromAnswer: number];

/** `ref`'s src next to this tree's (so both resolve the same node_modules), and a page importing both. */
function checkout(): string {
  mkdirSync(join(root, '.tmp'), { recursive: true });
  const dir = mkdtempSync(join(root, '.tmp', 'against-'));
  execFileSync('sh', ['-c', `git archive "$0" src | tar -x -C "$1"`, ref, dir], { cwd: root });
  const imports = (name: string, base: string) =>
    [
      `import { createIdempotentFetch as ${name}Fetch } from '${base}/fetch/index.ts';`,
      `import { memoryStore as ${name}Memory } from '${base}/core/store.ts';`,
      `import { indexedDbStore as ${name}IndexedDb } from '${base}/core/indexeddb-store.ts';`,
      `import { installIdempotency as ${name}Axios } from '${base}/axios/index.ts';`,
      `import { createSubmitter as ${name}Submitter } from '${base}/core/submitter.ts';`,
    ].join('\n');
  const build = (name: string) => `{ createIdempotentFetch: ${name}Fetch, memoryStore: ${name}Memory, indexedDbStore: ${name}IndexedDb, installIdempotency: ${name}Axios, createSubmitter: ${name}Submitter }`;
  writeFileSync(
    join(dir, 'page.ts'),
    [
      imports('old', join(dir, 'src')),
      imports('now', join(root, 'src')),
      `import { install } from '${join(root, 'bench/browser/against.ts')}';`,
      `install({ old: ${build('old')}, new: ${build('now')} });`,
    ].join('\n'),
  );
  return dir;
}

function report(title: string, samples: Record<string, Sample[]>): void {
  console.log(`\n${title}, µs per request (${REQUESTS} each, cases interleaved)`);
  const us = (ms: number) => (ms * 1000).toFixed(0);
  ['total', 'before fetch()', 'after', 'fetch() -> answer', 'answer -> caller has its Response', "the caller's text()", 'answer -> text() done'].forEach((phase, p) => {
    const of = (name: string) => samples[name]!.map((sample) => sample[p]!);
    const diff = (name: string, against: string) => {
      const [low, high] = pairedInterval([of(name), of(against)], (a, b) => median(a) - median(b));
      return `${us(median(of(name)) - median(of(against)))} (${us(low)} to ${us(high)})`.padEnd(18);
    };
    console.log(`  ${phase}: fetch ${us(median(of('fetch')))}, after 4 ms idle ${us(median(of('idle fetch')))}, floor ${us(median(of('floor')))}`);
    for (const kind of ['memory', 'IndexedDB', 'same intent again', 'prepared click', 'axios, memory']) {
      if (!samples[`new ${kind}`]) continue;
      const baseline = kind === 'IndexedDB' || kind === 'same intent again' ? 'floor' : kind === 'memory' ? 'fetch' : kind === 'prepared click' ? 'idle fetch' : undefined;
      const versus = baseline ? `   old - ${baseline} ${diff(`old ${kind}`, baseline)}   new - ${baseline} ${diff(`new ${kind}`, baseline)}` : '';
      console.log(`    ${kind.padEnd(17)} old ${us(median(of(`old ${kind}`))).padStart(5)}  new ${us(median(of(`new ${kind}`))).padStart(5)}   new - old ${diff(`new ${kind}`, `old ${kind}`)}${versus}`);
    }
  });
}

const dir = checkout();
const code = await bundleEntry(join(dir, 'page.ts'));
try {
  await withBenchPage(code, 'against', async (page) => {
  type Against = (n: number, network: boolean) => Promise<Record<string, Sample[]>>;
  const run = (network: boolean) => page.evaluate(([n, net]) => (window as unknown as { against: Against }).against(n, net), [REQUESTS, network] as const);
  console.log(`This tree against ${ref}`);
  report('Without the network (a fetch that answers at once)', await run(false));
  report('Loopback POST', await run(true));
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
