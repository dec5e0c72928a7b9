/**
 * Runs in headless Chromium for `bench/trace.ts`: loopback POSTs through plain `fetch` and
 * through the clients, interleaved, each submission stamped into the Chromium trace
 * (`console.timeStamp`) where it starts (`b`), where `fetch()` is called (`f`), where the
 * caller has its Response (`r`) and where its body is read (`e`).
 */
import { indexedDbStore } from '../../src/core/indexeddb-store.js';
import { memoryStore } from '../../src/core/store.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { floorPut } from './floor-put.js';
import { shuffle } from './shuffle.js';

const url = '/api/orders';
const body = (i: number) => JSON.stringify({ sku: `sku-${i}`, qty: 1, note: 'benchmark' });
let current = '';
const stamp = (mark: string) => console.timeStamp(`${mark}|${current}`);
const stamped = (input: RequestInfo | URL, init?: RequestInit) => (stamp('f'), fetch(input, init));
const memory = createIdempotentFetch({ fetch: stamped, store: memoryStore(), retry: false });
const indexedDb = createIdempotentFetch({ fetch: stamped, retry: false });

const preparing = createSubmitter({ retry: false, store: indexedDbStore({ databaseName: 'trace-prepared' }) });
const prepared = createIdempotentFetch({ fetch: stamped, submitter: preparing });
const idleFor = (ms: number) => () => new Promise((resolve) => setTimeout(resolve, ms));
const idle = idleFor(4);

const rawPut = floorPut('trace-floor');
let putKey = '';

/** Each case's untimed setup before its `b` stamp, then the stamped submission. */
const cases: Record<string, [setup: (i: number) => Promise<unknown> | undefined, send: (i: number) => Promise<unknown>]> = {
  'fetch (baseline)': [() => undefined, (i) => stamped(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text()))],
  'idempotentFetch, memory store': [() => undefined, (i) => memory(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text()))],
  'floor: raw put + fetch with the key': [
    () => undefined,
    (i) => rawPut(i).then((key) => stamped(url, { method: 'POST', body: body(i), headers: { 'Idempotency-Key': key } }).then((r) => (stamp('r'), r.text()))),
  ],
  'idempotentFetch, IndexedDB': [() => undefined, (i) => indexedDb(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text()))],
  // A real click comes 50-150 ms after its pointerdown's claim: its code has gone cold.
  'fetch after 4 ms idle': [idle, (i) => stamped(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text()))],
  // The same, with a key header: what the header alone costs inside fetch() (the prepared click sends one).
  'fetch + key header, 4 ms idle': [idle, (i) => stamped(url, { method: 'POST', body: body(i), headers: { 'Idempotency-Key': crypto.randomUUID() } }).then((r) => (stamp('r'), r.text()))],
  'prepared, click 4 ms after': [(i) => preparing.prepare({ method: 'POST', url, body: body(i) }).then(idle), (i) => prepared(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text()))],
  // The floor of a prepared click: a raw put's commit 4 ms before, without our code.
  'raw put, keyed fetch 4 ms after': [(i) => rawPut(i).then(async (key) => (await idle(), (putKey = key))), (i) => stamped(url, { method: 'POST', body: body(i), headers: { 'Idempotency-Key': putKey } }).then((r) => (stamp('r'), r.text()))],
  'fetch + key header, 16 ms idle': [idleFor(16), (i) => stamped(url, { method: 'POST', body: body(i), headers: { 'Idempotency-Key': crypto.randomUUID() } }).then((r) => (stamp('r'), r.text()))],
  'prepared, click 16 ms after': [(i) => preparing.prepare({ method: 'POST', url, body: body(i) }).then(idleFor(16)), (i) => prepared(url, { method: 'POST', body: body(i) }).then((r) => (stamp('r'), r.text()))],
};

/** Warms every case up untraced (`warm`), or sends `requests` of each, stamped. */
async function run(requests: number, warm: boolean): Promise<void> {
  const entries = Object.entries(cases);
  let sequence = warm ? 0 : 1e6;
  for (let n = 0; n < requests; n++) {
    shuffle(entries);
    for (const [name, [setup, send]] of entries) {
      await setup(sequence);
      current = warm ? '' : `${name}|${n}`;
      stamp('b');
      await send(sequence++);
      stamp('e');
    }
  }
}
(window as unknown as { trace: typeof run }).trace = run;
