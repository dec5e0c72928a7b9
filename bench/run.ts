/**
 * `npm run bench`: the client's cost on the submit path, in real headless Chromium against
 * a loopback server, and the fingerprint's cost in Node. Every figure is printed as a
 * ratio to a baseline measured in the same run; nothing here asserts a time.
 */
import { fileURLToPath } from 'node:url';
import type { Page } from '@playwright/test';
import { fingerprintOf } from '../src/core/fingerprint.js';
import { bundleEntry } from '../scripts/bundle.js';
import { withBenchPage } from './page-server.js';
import { median, pairedInterval, quantile } from './stats.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 100);
/** `BENCH_PROFILE='<case name>'`: instead of the tables, the main thread's self time per request in that case. */
const PROFILE = process.env.BENCH_PROFILE;
/** `BENCH_TABLES=offline,cases`: only those tables (default all: cases, offline, split, bursts, puts). */
const TABLES = new Set((process.env.BENCH_TABLES ?? 'cases,offline,split,bursts,puts').split(','));

function bundlePage(): Promise<string> {
  return bundleEntry(fileURLToPath(new URL('./browser/page.ts', import.meta.url)));
}

function table(title: string, rows: Array<[string, number, string]>, baseline: number): void {
  console.log(`\n${title}`);
  for (const [name, value, unit] of rows) {
    console.log(`  ${name.padEnd(42)} ${value.toFixed(3).padStart(9)} ${unit}   x${(value / baseline).toFixed(2)}`);
  }
}

/** The floor a row is held to: the same durability, the same HTTP client, the same request (its key header included). */
function floorOf(name: string): string {
  if (name.includes('instant axios')) return name.includes('IndexedDB') ? 'instant floor + axios: raw put (relaxed) + instant axios with the key' : 'instant axios';
  if (name.includes('instant fetch')) return name.includes('IndexedDB') ? 'instant floor: raw put (relaxed) + instant fetch with the key' : 'instant fetch (baseline)';
  if (name.startsWith('burst')) return 'burst: floor (put relaxed + fetch with the key) x20';
  if (name.includes('axios')) return 'floor + axios: raw put (relaxed) + axios with the key';
  if (name.includes('durability default') || name.includes('(default)')) return 'floor: raw put (default) + fetch with the key';
  if (name.includes('strict')) return 'floor: raw put (strict) + fetch with the key';
  return 'floor: raw IndexedDB put (relaxed) + fetch with the key';
}

/** The floor a row was held to before 2026-11-27 (the same put and POST without the key header), where the table has it. */
const OLD_FLOORS: Record<string, string> = {
  'floor: raw IndexedDB put (relaxed) + fetch with the key': 'old floor: raw put (relaxed) + fetch, no key header',
  'floor + axios: raw put (relaxed) + axios with the key': 'old floor + axios: raw put (relaxed) + axios, no key header',
};

/** The floor a row is also held to since session 29: the same put with `commit()` asked for at once, as the SDK's claim does. */
const EARLY_FLOORS: Record<string, string> = {
  'floor: raw IndexedDB put (relaxed) + fetch with the key': 'floor committed early: raw put (relaxed) + commit() + fetch with the key',
  'floor + axios: raw put (relaxed) + axios with the key': 'floor committed early + axios: raw put (relaxed) + commit() + axios with the key',
};

/**
 * The least a prepared click can cost after its gap, whatever the SDK: the claim's put, the
 * same gap, then the keyed POST (session 30). The idle fetch is not that floor: 4 ms after a
 * put, the browser's own commit still slows the next request.
 */
const IDLE_FLOORS: Record<string, string> = {
  'prepared, the click 4 ms after its claim': 'raw put (relaxed), then fetch with its key 4 ms after',
};

/**
 * A row after an idle gap is held to a fetch after the same idle (a request after a gap
 * costs plain fetch more too), not to the back-to-back fetch: the prepared click `<n> ms
 * after its claim` to `fetch after <n> ms idle`, the raw put's keyed fetch to a keyed fetch.
 */
function idleBaselineOf(name: string): string | undefined {
  if (name.startsWith('raw put')) return 'fetch with a key after 4 ms idle';
  const ms = /(\d+) ms after/.exec(name)?.[1];
  return ms === undefined ? undefined : `fetch after ${ms} ms idle`;
}

/**
 * A 95% interval for median(row) / median(floor), paired over the request index (the
 * cases are interleaved request by request, so sample n of each row ran at the same
 * moment): whether a few percent between a row and its floor is more than this run's noise.
 */
function ratioInterval(row: number[], floor: number[]): [number, number] {
  return pairedInterval([row, floor], (a, b) => median(a) / median(b));
}

/** Median and p95 per row, as ratios to fetch (or the burst of fetches) and to the row's floor, same run. */
function ratioTable(title: string, samples: Record<string, number[]>, fetchRow: string): void {
  console.log(`\n${title}`);
  console.log(
    `  ${'case'.padEnd(70)} ${'median'.padStart(8)} ${'p95'.padStart(8)}   ${'x fetch'.padStart(7)} ${'x floor'.padStart(7)} ${'95% interval'.padStart(13)}   ${'p95 x floor p95'.padStart(15)}   ${'x old floor (95%)'.padStart(22)}   ${'x floor committed early (95%)'.padStart(29)}   ${'x put-then-idle floor (95%)'.padStart(27)}`,
  );
  const med = (name: string) => median(samples[name]!);
  const p95 = (name: string) => quantile(samples[name]!, 0.95);
  for (const name of Object.keys(samples)) {
    const floor = floorOf(name);
    const idleBaseline = idleBaselineOf(name);
    const isFloor = name === floor || /^(instant |old )?floor/.test(name) || name === fetchRow || name === 'axios' || / idle$/.test(name) || idleBaseline !== undefined;
    const baseline = idleBaseline ?? fetchRow;
    // The row against another floor of the same request, where the table has it.
    const versus = (other: string | undefined) =>
      !other || !samples[other] ? '' : `x${(med(name) / med(other)).toFixed(2)} (${ratioInterval(samples[name]!, samples[other]!).map((r) => r.toFixed(2)).join('-')})`;
    const vsOld = isFloor ? '' : versus(OLD_FLOORS[floor]);
    const vsEarly = isFloor ? '' : versus(EARLY_FLOORS[floor]);
    const vsIdleFloor = versus(IDLE_FLOORS[name]);
    const vsFloor = isFloor ? '' : `x${(med(name) / med(floor)).toFixed(2)}`;
    const p95VsFloor = isFloor ? '' : `x${(p95(name) / p95(floor)).toFixed(2)}`;
    // An idle row's interval is of its ratio to its idle fetch (the x fetch column).
    const held = idleBaseline ?? (isFloor ? undefined : floor);
    const interval = held ? `${ratioInterval(samples[name]!, samples[held]!).map((r) => r.toFixed(2)).join('-')}${idleBaseline ? ' (x idle fetch)' : ''}` : '';
    console.log(
      `  ${name.padEnd(70)} ${med(name).toFixed(2).padStart(8)} ${p95(name).toFixed(2).padStart(8)}   ${`x${(med(name) / med(baseline)).toFixed(2)}`.padStart(7)} ${vsFloor.padStart(7)} ${interval.padStart(13)}   ${p95VsFloor.padStart(15)}   ${vsOld.padStart(22)}   ${vsEarly.padStart(29)}   ${vsIdleFloor.padStart(27)}`,
    );
  }
}

async function browserBench(): Promise<void> {
  const code = await bundlePage();
  await withBenchPage(code, 'bench', async (page) => {
    console.log(`\ncrossOriginIsolated: ${String(await page.evaluate(() => crossOriginIsolated))}`);
    type Which = 'cases' | 'bursts' | 'puts' | 'offline' | 'split';
    type Bench = (r: number, n: number, which: Which) => Promise<Record<string, number[]>>;
    const bench = (which: Which, rounds: number, requests: number) =>
      page.evaluate(([r, n, w]) => (window as unknown as { bench: Bench }).bench(r as number, n as number, w as Which), [rounds, requests, which] as const);
    if (PROFILE) {
      await profileCase(page, PROFILE);
      return;
    }
    if (TABLES.has('cases')) {
      ratioTable(
        `Submit path in headless Chromium, loopback POST, ms per request (${ROUNDS} rounds x ${REQUESTS} sequential different intents, cases interleaved)`,
        await bench('cases', ROUNDS, REQUESTS),
        'fetch (baseline)',
      );
    }
    if (TABLES.has('offline')) {
      ratioTable(
        `Without the network: a fetch that answers at once, ms per request (${ROUNDS} rounds x ${REQUESTS * 2}, cases interleaved)`,
        await bench('offline', ROUNDS, REQUESTS * 2),
        'instant fetch (baseline)',
      );
    }
    if (TABLES.has('split')) splitTable(await bench('split', ROUNDS, REQUESTS * 2));
    if (TABLES.has('bursts')) {
      ratioTable('Bursts of 20 different intents at once, ms per request', await bench('bursts', ROUNDS, Math.max(5, Math.floor(REQUESTS / 10))), 'burst: fetch x20 at once');
    }
    if (TABLES.has('puts')) {
      const puts = await bench('puts', ROUNDS, REQUESTS);
      console.log('\nThe write-ahead alone (one readwrite put, resolved on complete), ms');
      for (const [name, values] of Object.entries(puts)) {
        console.log(`  ${name.padEnd(50)} median ${median(values).toFixed(2).padStart(6)}   p95 ${quantile(values, 0.95).toFixed(2).padStart(6)}   x${(median(values) / median(puts['raw put, relaxed']!)).toFixed(2)} relaxed`);
      }
    }
  }, (order) => `{"id":${order}}`);
}

/**
 * The rows without the network, split where `fetch()` is called: the claim before it, the
 * answer's way back to the caller after it. Each of ours as a difference (µs) from the same
 * phase of its baseline (IndexedDB: the raw put's; memory: the instant fetch's).
 */
function splitTable(samples: Record<string, number[]>): void {
  console.log(`\nWithout the network, split where fetch() is called, µs per request (${ROUNDS} rounds x ${REQUESTS * 2})`);
  console.log(`  ${'case: phase'.padEnd(66)} ${'median'.padStart(7)} ${'p95'.padStart(7)}   ${'- baseline (95% interval)'.padStart(26)}`);
  const us = (ms: number) => (ms * 1000).toFixed(0);
  for (const [name, values] of Object.entries(samples)) {
    const phase = name.slice(name.lastIndexOf(':'));
    const baseline = name.includes('IndexedDB') ? `instant floor: raw put (relaxed) + instant fetch with the key${phase}` : name.includes('memory') ? `instant fetch${phase}` : undefined;
    const difference = baseline
      ? `${us(median(values) - median(samples[baseline]!))} (${pairedInterval([values, samples[baseline]!], (a, b) => median(a) - median(b)).map(us).join(' to ')})`
      : '';
    console.log(`  ${name.padEnd(66)} ${us(median(values)).padStart(7)} ${us(quantile(values, 0.95)).padStart(7)}   ${difference.padStart(26)}`);
  }
}

/** Samples the page's main thread (CDP Profiler) over 400 requests of one case; prints self time per request. */
async function profileCase(page: Page, name: string): Promise<void> {
  const repeat = (count: number) => page.evaluate(([n, c]) => (window as unknown as { repeat: (n: string, c: number) => Promise<void> }).repeat(n, c), [name, count] as const);
  const requests = 400;
  await repeat(50);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
  await cdp.send('Profiler.start');
  await repeat(requests);
  const { profile } = await cdp.send('Profiler.stop');
  const nodes = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const self = new Map<string, number>();
  (profile.samples ?? []).forEach((id, i) => {
    const frame = nodes.get(id)!;
    const where = frame.url ? ` ${frame.url.split('/').pop()}:${frame.lineNumber + 1}` : '';
    const label = `${frame.functionName || '(anonymous)'}${where}`;
    self.set(label, (self.get(label) ?? 0) + (profile.timeDeltas?.[i] ?? 0));
  });
  const total = [...self.values()].reduce((sum, us) => sum + us, 0);
  console.log(`\nMain-thread self time in "${name}", µs per request (${requests} requests; page.js is minified, so its frames show by line)`);
  for (const [label, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${(us / requests).toFixed(0).padStart(6)}  ${((us / total) * 100).toFixed(1).padStart(5)}%  ${label}`);
  }
}

function nodeBench(): void {
  const bodies = Array.from({ length: 2000 }, (_, i) => ({ cart: [{ sku: `sku-${i}`, qty: i % 5 }], address: { city: 'Lyon', zip: '69001' }, note: 'x'.repeat(200) }));
  const time = (fn: () => void): number => {
    const rounds: number[] = [];
    for (let r = 0; r < 7; r++) {
      const start = performance.now();
      fn();
      rounds.push(((performance.now() - start) * 1000) / bodies.length);
    }
    return median(rounds);
  };
  const baseline = time(() => {
    for (const body of bodies) JSON.stringify({ method: 'POST', url: 'https://shop.test/orders', body });
  });
  const fp = time(() => {
    for (const body of bodies) fingerprintOf({ method: 'POST', url: 'https://shop.test/orders?b=1&a=2', body });
  });
  table('Fingerprint of a ~300-byte JSON cart in Node (median of 7 rounds x 2000)', [
    ['JSON.stringify of the request (baseline)', baseline, 'us/op'],
    ['fingerprintOf (canonical JSON + URL + hash)', fp, 'us/op'],
  ], baseline);
}

nodeBench();
await browserBench();
