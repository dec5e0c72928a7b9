/**
 * Runs in headless Chromium for `bench/against.ts`: the same submissions through two builds
 * of the client (an older commit's and this tree's), interleaved request by request in one
 * page, each split where `fetch()` is called. What one build saves over the other shows as
 * a paired difference, which the machine's load (shared by both) mostly cancels out of.
 */
import axios, { type AxiosAdapter } from 'axios';
import type { createIdempotentFetch } from '../../src/fetch/index.js';
import type { memoryStore } from '../../src/core/store.js';
import type { indexedDbStore } from '../../src/core/indexeddb-store.js';
import type { installIdempotency } from '../../src/axios/index.js';
import type { createSubmitter } from '../../src/core/submitter.js';
import { floorPut } from './floor-put.js';
import { shuffle } from './shuffle.js';

/** What a build exports that the comparison uses (an older build's types may differ a little). */
export interface Build {
  createIdempotentFetch: typeof createIdempotentFetch;
  memoryStore: typeof memoryStore;
  indexedDbStore: typeof indexedDbStore;
  installIdempotency: typeof installIdempotency;
  createSubmitter: typeof createSubmitter;
}

type Sample = [total: number, before: number, after: number, wire: number, answered: number, read: number, fromAnswer: number];

const url = '/api/orders';
const body = (i: number) => JSON.stringify({ sku: `sku-${i}`, qty: 1, note: 'benchmark' });
let calledAt = 0;
let answeredAt = 0;
let gotAt = 0;
/** The caller has its Response: stamped before it reads the body. */
const read = (response: Response) => ((gotAt = performance.now()), response.text());
/**
 * Stamps the answer's arrival: a reaction registered before the client's own, so it runs
 * first once the answer is in. From there to the caller's promise is the client's CPU alone,
 * without the network's noise.
 */
const stampAnswer = <T>(answer: Promise<T>): Promise<T> => (answer.then(() => (answeredAt = performance.now()), () => undefined), answer);
/** Stamps the moment the request is handed to the network (or answered at once, without it). */
const networkFetch = (input: RequestInfo | URL, init?: RequestInit) => ((calledAt = performance.now()), stampAnswer(fetch(input, init)));
const instantFetch = () => ((calledAt = performance.now()), stampAnswer(Promise.resolve(new Response(null, { status: 201, headers: { 'content-type': 'application/json' } }))));
const instantAdapter: AxiosAdapter = (config) => ((calledAt = performance.now()), stampAnswer(Promise.resolve({ data: '', status: 201, statusText: 'Created', headers: {}, config })));

const rawPut = floorPut('against-floor');

const split = async (send: () => Promise<unknown>): Promise<Sample> => {
  const start = performance.now();
  await send();
  const end = performance.now();
  // Without a Response to read (axios), the caller has its answer at the end.
  const got = gotAt > calledAt ? gotAt : end;
  return [end - start, calledAt - start, end - calledAt, answeredAt - calledAt, got - answeredAt, end - got, end - answeredAt];
};

/** The cases of one table: both builds' rows and the baselines they are read against. */
function casesFor(builds: Record<'old' | 'new', Build>, network: boolean): Record<string, (i: number) => Promise<Sample>> {
  const base = network ? networkFetch : instantFetch;
  const plain = (i: number) => base(url, { method: 'POST', body: body(i) }).then(read);
  const cases: Record<string, (i: number) => Promise<Sample>> = {
    fetch: (i) => split(() => plain(i)),
    // The prepared click's baseline: a request after the same idle gap (the browser's threads wake up).
    'idle fetch': async (i) => {
      await new Promise((resolve) => setTimeout(resolve, 4));
      return split(() => plain(i));
    },
    floor: (i) => split(() => rawPut(i).then((key) => base(url, { method: 'POST', body: body(i), headers: { 'Idempotency-Key': key } }).then(read))),
  };
  for (const [name, build] of Object.entries(builds)) {
    const options = { fetch: base as typeof fetch, retry: false as const };
    const memory = build.createIdempotentFetch({ ...options, store: build.memoryStore() });
    const idb = build.createIdempotentFetch({ ...options, store: build.indexedDbStore({ databaseName: `against-${name}-${String(network)}` }) });
    cases[`${name} memory`] = (i) => split(() => memory(url, { method: 'POST', body: body(i) }).then(read));
    cases[`${name} IndexedDB`] = (i) => split(() => idb(url, { method: 'POST', body: body(i) }).then(read));
    // The same cart ordered again once the last order settled (no settle window here, so
    // each is a new intent over the last one's record): the claim finds a record.
    const again = build.createIdempotentFetch({ ...options, settleWindow: 0, store: build.indexedDbStore({ databaseName: `against-${name}-again-${String(network)}` }) });
    cases[`${name} same intent again`] = () => split(() => again(url, { method: 'POST', body: body(-1) }).then(read));
    // The key claimed on pointerdown (untimed, IndexedDB), then the click, 4 ms later (a
    // real click comes 50-150 ms after its pointerdown: the code the claim ran is cold again).
    const preparing = build.createSubmitter({ retry: false, store: build.indexedDbStore({ databaseName: `against-${name}-prepared-${String(network)}` }) });
    const prepared = build.createIdempotentFetch({ fetch: base as typeof fetch, submitter: preparing });
    cases[`${name} prepared click`] = async (i) => {
      await preparing.prepare({ method: 'POST', url, body: body(i) });
      await new Promise((resolve) => setTimeout(resolve, 4));
      return split(() => prepared(url, { method: 'POST', body: body(i) }).then(read));
    };
    if (!network) {
      const keyed = axios.create({ adapter: instantAdapter });
      build.installIdempotency(keyed, { retry: false, store: build.memoryStore() });
      cases[`${name} axios, memory`] = (i) => split(() => keyed.post(url, body(i)));
    }
  }
  return cases;
}


let sequence = 0;

/** Per case, every request's [total, before fetch(), after] in ms, cases in a new order at each index. */
export function install(builds: Record<'old' | 'new', Build>): void {
  (window as unknown as { against: (n: number, network: boolean) => Promise<Record<string, Sample[]>> }).against = async (requests, network) => {
    const entries = Object.entries(casesFor(builds, network));
    const samples: Record<string, Sample[]> = Object.fromEntries(entries.map(([name]) => [name, []]));
    for (const [, send] of entries) for (let n = 0; n < 20; n++) await send(sequence++);
    for (let n = 0; n < requests; n++) {
      shuffle(entries);
      for (const [name, send] of entries) {
        // Without the network, an idle gap first (untimed), as a loopback request leaves
        // one: back to back the code stays in the CPU's caches and costs a third (bench/browser/page.ts).
        if (!network) await new Promise((resolve) => setTimeout(resolve, 4));
        samples[name]!.push(await send(sequence++));
      }
    }
    return samples;
  };
}
