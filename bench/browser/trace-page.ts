/**
 * Runs in headless Chromium for `bench/trace.ts`: loopback POSTs through plain `fetch` and
 * through the clients, interleaved, each submission stamped into the Chromium trace
 * (`console.timeStamp`) where it starts (`b`), where `fetch()` is called (`f`), where the
 * caller has its Response (`r`) and where its body is read (`e`).
 */
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { shuffle } from './shuffle.js';

const url = '/api/orders';
const body = (i: number) => JSON.stringify({ sku: `sku-${i}`, qty: 1, note: 'benchmark' });
let current = '';
const stamp = (mark: string) => console.timeStamp(`${mark}|${current}`);
const stamped = (input: RequestInfo | URL, init?: RequestInit) => (stamp('f'), fetch(input, init));
const memory = createIdempotentFetch({ fetch: stamped, store: memoryStore(), retry: false });
const indexedDb = createIdempotentFetch({ fetch: stamped, retry: false });

const cases: Record<string, (i: number) => Promise<unknown>> = {
  'fetch (baseline)': (i) => stamped(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text())),
  'idempotentFetch, memory store': (i) => memory(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text())),
  'idempotentFetch, IndexedDB': (i) => indexedDb(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text())),
};

/** Warms every case up untraced (`warm`), or sends `requests` of each, stamped. */
async function run(requests: number, warm: boolean): Promise<void> {
  const entries = Object.entries(cases);
  let sequence = warm ? 0 : 1e6;
  for (let n = 0; n < requests; n++) {
    shuffle(entries);
    for (const [name, send] of entries) {
      current = warm ? '' : `${name}|${n}`;
      stamp('b');
      await send(sequence++);
      stamp('e');
    }
  }
}
(window as unknown as { trace: typeof run }).trace = run;
