/**
 * `node --import tsx bench/bindings.ts`: every browser binding (and `Date.now`, `JSON`,
 * `Math.random`) one loopback submission touches, for plain `fetch`, the floor, the prepared
 * click, the IndexedDB row and axios, in order, by phase, with the function that touched
 * it (the page bundled without minifying). After an idle gap the first call into each
 * binding costs a click 3-20 µs cold (docs/client-cost.md, session 25), so each one on the
 * way to `fetch()` or back to the caller is worth a look. Counts, not times.
 */
import { fileURLToPath } from 'node:url';
import { build, type Rollup } from 'vite';
import { withBenchPage } from './page-server.js';

const REPEATS = Number(process.env.BENCH_REQUESTS ?? 3);
const output = (await build({
  configFile: false,
  logLevel: 'silent',
  build: { write: false, minify: false, lib: { entry: fileURLToPath(new URL('./browser/bindings-page.ts', import.meta.url)), formats: ['es'], fileName: 'entry' } },
})) as Rollup.RollupOutput[];
const code = output[0]!.output.filter((item): item is Rollup.OutputChunk => item.type === 'chunk').map((chunk) => chunk.code).join('\n');

type Touch = { phase: string; name: string; by: string };
await withBenchPage(code, 'bindings', async (page) => {
  const logs = await page.evaluate((n) => (window as unknown as { bindings: (n: number) => Promise<Record<string, Touch[][]>> }).bindings(n), REPEATS);
  for (const [name, runs] of Object.entries(logs)) {
    console.log(`\n${name}: ${runs.map((run) => run.length).join(', ')} touches in ${runs.length} submissions; the last one's:`);
    let phase = '';
    for (const { phase: p, name: binding, by } of runs.at(-1)!) {
      if (p !== phase) console.log(`  -- ${(phase = p)}`);
      console.log(`    ${binding.padEnd(52)} ${by}`);
    }
  }
});
