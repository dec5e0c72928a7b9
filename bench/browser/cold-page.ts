/**
 * Runs in headless Chromium for `bench/cold.ts`: what our code costs hot (run back to back)
 * and cold (after the page sat idle, or after the CPU's caches were flushed), without the
 * network, so that only the CPU's state differs between the rows.
 */
import { defaultClassifier } from '../../src/core/classify.js';
import { fingerprintOf } from '../../src/core/fingerprint.js';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { shuffle } from './shuffle.js';

const url = '/api/orders';
const body = (i: number) => JSON.stringify({ sku: `sku-${i}`, qty: 1, note: 'benchmark' });
let calledAt = 0;
const instant = async () => ((calledAt = performance.now()), new Response(null, { status: 201, headers: { 'content-type': 'application/json' } }));
const engine = createIdempotentFetch({ fetch: instant, store: memoryStore(), retry: false });
const other = createIdempotentFetch({ fetch: instant, store: memoryStore(), retry: false });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const memory = new Float64Array(4 << 20);
let sink = 0;

/** What runs (untimed) before each timed submission. */
const before: Record<string, (i: number) => unknown> = {
  'back to back': () => undefined,
  'after 3 ms idle': () => sleep(3),
  'after 3 ms spinning': () => {
    const end = performance.now() + 3;
    while (performance.now() < end);
  },
  'after reading 32 MB, no pause': () => {
    for (let k = 0; k < memory.length; k += 8) sink += memory[k]!++;
  },
  "after 3 ms idle, then another engine's submission": (i) => sleep(3).then(() => other(url, { method: 'POST', body: body(-i) }).then((r) => r.text())),
};

/** Per state: [plain instant fetch, our memory-store submission before fetch(), after it], ms. */
async function submissions(requests: number): Promise<Record<string, number[][]>> {
  const cases = Object.entries(before).flatMap(([state, prepare]) => [
    [`${state}: fetch`, prepare, (i: number) => instant().then((r) => r.text())] as const,
    [`${state}: idempotentFetch`, prepare, (i: number) => engine(url, { method: 'POST', body: body(i) }).then((r) => r.text())] as const,
  ]);
  const samples: Record<string, number[][]> = Object.fromEntries(cases.map(([name]) => [name, []]));
  let sequence = 0;
  for (const [, , send] of cases) for (let n = 0; n < 20; n++) await send(sequence++);
  for (let n = 0; n < requests; n++) {
    shuffle(cases);
    for (const [name, prepare, send] of cases) {
      await prepare(sequence++);
      const start = performance.now();
      await send(sequence++);
      const end = performance.now();
      samples[name]!.push([calledAt - start, end - calledAt]);
    }
  }
  return samples;
}

let response: Response;
/** Pieces of the submit path, each timed alone once after 3 ms idle and once right after five runs of itself. */
const pieces: Record<string, (i: number) => unknown> = {
  'crypto.randomUUID()': () => crypto.randomUUID(),
  'new AbortController()': () => new AbortController(),
  'location.href': () => location.href,
  'new Headers(), get, set': () => {
    const headers = new Headers(undefined);
    headers.get('Idempotency-Key');
    headers.set('Idempotency-Key', '0b6cbd46-6d5c-4c0f-9d3c-58a1f9e0b1d2');
  },
  'JSON.parse of the body': (i) => JSON.parse(body(i)),
  fingerprintOf: (i) => fingerprintOf({ method: 'POST', url, body: body(i) }),
  'Response.clone() (network response)': () => response.clone(),
  'default classifier (201)': () => defaultClassifier({ ok: true, value: response }, Date.now()),
};

async function piecesColdHot(requests: number): Promise<Record<string, number[][]>> {
  response = await fetch(url, { method: 'POST', body: 'x' });
  const entries = Object.entries(pieces);
  const samples: Record<string, number[][]> = Object.fromEntries(entries.map(([name]) => [name, []]));
  let sequence = 0;
  for (let n = 0; n < requests; n++) {
    shuffle(entries);
    for (const [name, piece] of entries) {
      await sleep(3);
      let start = performance.now();
      await piece(sequence++);
      const cold = performance.now() - start;
      for (let k = 0; k < 5; k++) await piece(sequence++);
      start = performance.now();
      await piece(sequence++);
      samples[name]!.push([cold, performance.now() - start]);
    }
  }
  return samples;
}

(window as unknown as { cold: unknown }).cold = { submissions, pieces: piecesColdHot, sink: () => sink };
