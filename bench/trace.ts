/**
 * `node --import tsx bench/trace.ts`: where the wall-clock time of one loopback submission
 * goes, ours against plain `fetch`, from a Chromium trace (renderer, browser and network
 * threads) over a few hundred submissions of each, interleaved. Per case, the median of
 * each phase in wall time and in the renderer main thread's own CPU time (`tts`), and what
 * else ran on that thread inside the submission (tasks, garbage collections).
 */
import { fileURLToPath } from 'node:url';
import { bundleEntry } from '../scripts/bundle.js';
import { withBenchPage } from './page-server.js';
import { median } from './stats.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const CATEGORIES = ['toplevel', 'devtools.timeline', 'v8', 'v8.execute', 'loading', 'disabled-by-default-devtools.timeline', 'disabled-by-default-v8.gc'];

interface TraceEvent {
  name: string;
  cat?: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  tts?: number;
  dur?: number;
  tdur?: number;
  args?: { data?: { message?: string } };
}

type Stamp = { ts: number; tts: number };

const code = await bundleEntry(fileURLToPath(new URL('./browser/trace-page.ts', import.meta.url)));
const events = await withBenchPage(
  code,
  'trace',
  async (page, browser): Promise<TraceEvent[]> => {
  const run = (requests: number, warm: boolean) =>
    page.evaluate(([n, w]) => (window as unknown as { trace: (n: number, w: boolean) => Promise<void> }).trace(n as number, w as boolean), [requests, warm] as const);
  await run(30, true);
  await browser.startTracing(page, { categories: CATEGORIES });
  await run(REQUESTS, false);
  const trace = JSON.parse((await browser.stopTracing()).toString()) as { traceEvents: TraceEvent[] } | TraceEvent[];
  return Array.isArray(trace) ? trace : trace.traceEvents;
  },
  (order) => `{"id":${order}}`,
);

// The stamps, by submission; the page's main thread is the one that stamped.
const stamps = new Map<string, Partial<Record<'b' | 'f' | 'r' | 'e', Stamp>>>();
let main: [number, number] | undefined;
for (const event of events) {
  const message = event.name === 'TimeStamp' ? event.args?.data?.message : undefined;
  if (!message) continue;
  const [mark, ...rest] = message.split('|');
  if (rest.length < 2) continue;
  main = [event.pid, event.tid];
  const id = rest.join('|');
  stamps.set(id, { ...stamps.get(id), [mark as 'b']: { ts: event.ts, tts: event.tts ?? Number.NaN } });
}
if (!main) throw new Error('no stamps in the trace');
const onMain = (event: TraceEvent) => event.pid === main![0] && event.tid === main![1] && event.ph === 'X';
/** Top-level slices of the main thread (a task, a microtask checkpoint), by start. */
const slices = events.filter((event) => onMain(event) && (event.cat ?? '').split(',').includes('toplevel')).sort((a, b) => a.ts - b.ts);
const tasks = slices.filter((event) => event.name === 'ThreadControllerImpl::RunTask');
/** Where the renderer hands a request to the network service. */
const loaderStarts = events.filter((event) => event.pid === main![0] && event.name === 'ThrottlingURLLoader::StartNow').map((event) => event.ts).sort((a, b) => a - b);
const collections = events.filter((event) => onMain(event) && (event.name === 'MinorGC' || event.name === 'MajorGC'));
const outermost = (ts: number) => {
  let found: TraceEvent | undefined;
  for (const slice of slices) {
    if (slice.ts > ts) break;
    if (slice.ts + (slice.dur ?? 0) >= ts && (!found || slice.ts < found.ts)) found = slice;
  }
  return found;
};
const overlapping = (list: TraceEvent[], from: number, to: number) => list.filter((event) => event.ts < to && event.ts + (event.dur ?? 0) > from).length;

const rows = new Map<string, Map<string, number[]>>();
for (const [id, { b, f, r, e }] of stamps) {
  if (!b || !f || !r || !e) continue;
  const name = id.slice(0, id.lastIndexOf('|'));
  const row = rows.get(name) ?? new Map<string, number[]>();
  rows.set(name, row);
  const add = (phase: string, value: number) => row.set(phase, [...(row.get(phase) ?? []), value]);
  const sent = outermost(f.ts);
  const answered = outermost(r.ts);
  add('whole submission, wall', e.ts - b.ts);
  add('whole submission, main-thread CPU', e.tts - b.tts);
  add('start -> fetch() called, wall', f.ts - b.ts);
  add('start -> fetch() called, CPU', f.tts - b.tts);
  const leaves = loaderStarts.find((ts) => ts >= f.ts);
  if (leaves !== undefined) add('fetch() called -> request handed to the network', leaves - f.ts);
  if (sent) add('fetch() called -> end of that task, wall', sent.ts + (sent.dur ?? 0) - f.ts);
  if (sent && sent.tdur !== undefined && sent.tts !== undefined) add('fetch() called -> end of that task, CPU', sent.tts + sent.tdur - f.tts);
  if (sent && answered) add('main thread idle until the answer task', answered.ts - (sent.ts + (sent.dur ?? 0)));
  if (answered) add('answer task start -> caller has Response, wall', r.ts - answered.ts);
  if (answered?.tts !== undefined) add('answer task start -> caller has Response, CPU', r.tts - answered.tts);
  add('caller has Response -> body read, wall', e.ts - r.ts);
  add('main-thread tasks inside the submission', overlapping(tasks, b.ts, e.ts));
  add('garbage collections inside the submission', overlapping(collections, b.ts, e.ts));
}

const names = [...rows.keys()];
const baseline = rows.get('fetch (baseline)')!;
console.log(`\nOne loopback submission in a Chromium trace, median µs of ${REQUESTS} each (interleaved), and the difference from fetch's`);
console.log(`  ${'phase'.padEnd(50)}${names.map((name) => name.slice(0, 28).padStart(30)).join('')}`);
for (const phase of baseline.keys()) {
  const cells = names.map((name) => {
    const value = median(rows.get(name)!.get(phase) ?? []);
    const difference = value - median(baseline.get(phase)!);
    return `${value.toFixed(0)}${rows.get(name) === baseline ? '' : ` (${difference >= 0 ? '+' : ''}${difference.toFixed(0)})`}`.padStart(30);
  });
  console.log(`  ${phase.padEnd(50)}${cells.join('')}`);
}
const gcs = names.map((name) => (rows.get(name)!.get('garbage collections inside the submission') ?? []).reduce((sum, n) => sum + n, 0));
console.log(`  garbage collections inside submissions, in all: ${names.map((name, i) => `${name} ${gcs[i]}`).join(', ')}`);
