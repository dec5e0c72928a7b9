/**
 * `node --import tsx bench/cold.ts`: why our code costs over loopback 3x what it costs in
 * a tight loop. Without the network, the same submission timed back to back, after the
 * page idled, after a spin, after reading through 32 MB (the CPU's caches flushed, no
 * pause), and after another engine's submission (caches warmed); then pieces of the path,
 * each cold (after 3 ms idle) and hot. Medians in µs (`performance.now()` resolves 5 µs).
 */
import { fileURLToPath } from 'node:url';
import { bundleEntry } from '../scripts/bundle.js';
import { withBenchPage } from './page-server.js';
import { median } from './stats.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 200);
const us = (ms: number) => (ms * 1000).toFixed(0).padStart(8);
const code = await bundleEntry(fileURLToPath(new URL('./browser/cold-page.ts', import.meta.url)));
await withBenchPage(code, 'cold', async (page) => {
  type Cold = Record<'submissions' | 'pieces', (n: number) => Promise<Record<string, number[][]>>>;
  const run = (which: 'submissions' | 'pieces', n: number) => page.evaluate(([w, r]) => (window as unknown as { cold: Cold }).cold[w as 'pieces'](r as number), [which, n] as const);
  const submissions = await run('submissions', REQUESTS);
  console.log(`\nWithout the network, a fetch that answers at once: median µs (${REQUESTS} each, interleaved)`);
  console.log(`  ${'state, client'.padEnd(72)}${'before fetch()'.padStart(16)}${'after'.padStart(8)}`);
  for (const [name, values] of Object.entries(submissions)) {
    console.log(`  ${name.padEnd(72)}${us(median(values.map((v) => v[0]!))).padStart(16)}${us(median(values.map((v) => v[1]!)))}`);
  }
  const pieces = await run('pieces', Math.max(50, REQUESTS / 2));
  console.log(`\nPieces of the submit path, median µs: cold (after 3 ms idle), hot (after five runs of itself)`);
  for (const [name, values] of Object.entries(pieces)) {
    console.log(`  ${name.padEnd(40)}${us(median(values.map((v) => v[0]!)))}${us(median(values.map((v) => v[1]!)))}`);
  }
});
