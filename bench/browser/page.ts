/**
 * Runs in headless Chromium: times POSTs to a loopback server through each client, one
 * request at a time, interleaving the cases request by request so that drift in the
 * machine's speed hits every case alike. Every intent is a different one (a new sku), so a
 * sequential run is a burst of different intents: what is left over from submission N
 * (its settle write) would show on the claim of N+1.
 *
 * The floor is what write-ahead needs at least: one raw IndexedDB readwrite `put` of a new
 * key, then the same POST the SDK sends, in this page and run, with each durability. The
 * same POST includes the key it put as the `Idempotency-Key` header: the server needs it,
 * so it is part of the job, not our overhead (on the wire the SDK's request and the
 * floor's differ in nothing else: same body, content type, mode and credentials). The
 * floors before 2026-11-27 sent no header; they stay as the `old floor` rows.
 */
import axios, { type AxiosAdapter } from 'axios';
import { installIdempotency } from '../../src/axios/index.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import { indexedDbStore, type Durability } from '../../src/core/indexeddb-store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { floorPut } from './floor-put.js';
import { shuffle } from './shuffle.js';

/** Sends request `i`; returns the ms it took, for what the case times (the click, for a prepared one). */
type Case = (i: number) => Promise<number>;

const url = '/api/orders';
const body = (i: number) => JSON.stringify({ sku: `sku-${i}`, qty: 1, note: 'benchmark' });
let sequence = 0;

const timed = async (send: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await send();
  return performance.now() - start;
};

/**
 * An idle gap as long as a loopback request (untimed), before each request of the tables
 * without the network. Back to back, a submission finds its code and data still in the
 * CPU's caches and costs a third of what it costs after the page sat idle for a few ms (as
 * every loopback row, and every real click, does): timed hot, our own work looked 3-7x
 * smaller than the gap the loopback rows showed.
 */
const idleFor = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const idle = () => idleFor(4);

/** The write-ahead alone, one database per durability. */
const floorPuts: Record<Durability, (i: number) => Promise<string>> = {
  relaxed: floorPut('bench-floor-relaxed', 'relaxed'),
  default: floorPut('bench-floor-default', 'default'),
  strict: floorPut('bench-floor-strict', 'strict'),
};
const rawPut = (durability: Durability, i: number): Promise<string> => floorPuts[durability](i);
/** The same put with `commit()` asked for at once, as the SDK's claim does (session 29). */
const earlyPut = floorPut('bench-floor-commit', 'relaxed', true);

const post = (i: number) => fetch(url, { method: 'POST', body: body(i) }).then((r) => r.text());
/** The POST the SDK sends: the same, with the key as its header. */
const keyedPost = (i: number, key: string) => fetch(url, { method: 'POST', body: body(i), headers: { 'Idempotency-Key': key } }).then((r) => r.text());
/** The floor: the key put, then sent with the request. */
const floor = (durability: Durability, i: number) => rawPut(durability, i).then((key) => keyedPost(i, key));
const plainAxios = axios.create();
const keyedAxios = axios.create();
installIdempotency(keyedAxios, { retry: false });
const memoryFetch = createIdempotentFetch({ store: memoryStore(), retry: false });
const idbFetch = createIdempotentFetch({ retry: false });
const strictFetch = createIdempotentFetch({ retry: false, store: indexedDbStore({ databaseName: 'bench-sdk-strict', durability: 'strict' }) });
const defaultFetch = createIdempotentFetch({ retry: false, store: indexedDbStore({ databaseName: 'bench-sdk-default', durability: 'default' }) });
const preparing = createSubmitter({ retry: false });
const preparedFetch = createIdempotentFetch({ submitter: preparing });

/** `fetch after <ms> ms idle` and the prepared click `<ms>` ms after its claim, held to it. */
function idleCases(ms: number): Record<string, Case> {
  return {
    [`fetch after ${ms} ms idle`]: async (i) => {
      await idleFor(ms);
      return timed(() => post(i));
    },
    [`prepared, the click ${ms} ms after its claim`]: async (i) => {
      await preparing.prepare({ method: 'POST', url, body: body(i) });
      await idleFor(ms);
      return timed(() => preparedFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text()));
    },
  };
}

/** Cases run on every other request only (their idle gap would double the table's time): half the samples. */
const sparse = new Set(['fetch after 50 ms idle', 'prepared, the click 50 ms after its claim']);

export const cases: Record<string, Case> = {
  'fetch (baseline)': (i) => timed(() => post(i)),
  'floor: raw IndexedDB put (relaxed) + fetch with the key': (i) => timed(() => floor('relaxed', i)),
  'floor: raw put (default) + fetch with the key': (i) => timed(() => floor('default', i)),
  'floor: raw put (strict) + fetch with the key': (i) => timed(() => floor('strict', i)),
  'old floor: raw put (relaxed) + fetch, no key header': (i) => timed(() => rawPut('relaxed', i).then(() => post(i))),
  'floor committed early: raw put (relaxed) + commit() + fetch with the key': (i) => timed(() => earlyPut(i).then((key) => keyedPost(i, key))),
  'idempotentFetch, memory store': (i) => timed(() => memoryFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text())),
  'idempotentFetch, IndexedDB (relaxed, the default)': (i) => timed(() => idbFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text())),
  'idempotentFetch, IndexedDB durability default': (i) => timed(() => defaultFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text())),
  'idempotentFetch, IndexedDB durability strict': (i) => timed(() => strictFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text())),
  // The key claimed on pointerdown (untimed), then the click: what the user waits for.
  'prepared (claimed ahead), the click': async (i) => {
    await preparing.prepare({ method: 'POST', url, body: body(i) });
    return timed(() => preparedFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text()));
  },
  // The same, the click some ms after its pointerdown (a real one comes 50-150 ms after):
  // the claim's code is cold again. Each held to a fetch after the same idle, since a
  // request after an idle gap costs plain fetch more too (the browser's threads wake up).
  ...idleCases(4),
  // What the browser's own commit of a put leaves running 4 ms later, without our code: the
  // floor of a prepared click, held to the same idle fetch with a key.
  'fetch with a key after 4 ms idle': async (i) => {
    // Minted untimed, as the raw put's key is.
    const key = crypto.randomUUID();
    await idleFor(4);
    return timed(() => keyedPost(i, key));
  },
  'raw put (relaxed), then fetch with its key 4 ms after': async (i) => {
    const key = await rawPut('relaxed', i);
    await idleFor(4);
    return timed(() => keyedPost(i, key));
  },
  ...idleCases(16),
  ...idleCases(50),
  axios: (i) => timed(() => plainAxios.post(url, body(i))),
  'floor + axios: raw put (relaxed) + axios with the key': (i) => timed(() => rawPut('relaxed', i).then((key) => plainAxios.post(url, body(i), { headers: { 'Idempotency-Key': key } }))),
  'old floor + axios: raw put (relaxed) + axios, no key header': (i) => timed(() => rawPut('relaxed', i).then(() => plainAxios.post(url, body(i)))),
  'floor committed early + axios: raw put (relaxed) + commit() + axios with the key': (i) =>
    timed(() => earlyPut(i).then((key) => plainAxios.post(url, body(i), { headers: { 'Idempotency-Key': key } }))),
  'axios + installIdempotency, IndexedDB': (i) => timed(() => keyedAxios.post(url, body(i))),
};

const BURST = 20;
/** A burst: BURST different intents at once (a page sending a batch); ms per request. */
export const bursts: Record<string, Case> = {
  'burst: fetch x20 at once': (i) => timed(() => Promise.all(Array.from({ length: BURST }, (_, n) => post(i * BURST + n)))).then((ms) => ms / BURST),
  'burst: floor (put relaxed + fetch with the key) x20': (i) => timed(() => Promise.all(Array.from({ length: BURST }, (_, n) => floor('relaxed', i * BURST + n)))).then((ms) => ms / BURST),
  'burst: idempotentFetch IndexedDB x20': (i) =>
    timed(() => Promise.all(Array.from({ length: BURST }, (_, n) => idbFetch(url, { method: 'POST', body: body(1e6 + i * BURST + n) }).then((r) => r.text())))).then(
      (ms) => ms / BURST,
    ),
};

/** The write-ahead alone, without the POST around it: where durability shows, if it does. */
export const puts: Record<string, Case> = {
  'raw put, relaxed': (i) => timed(() => rawPut('relaxed', i)),
  'raw put, default': (i) => timed(() => rawPut('default', i)),
  'raw put, strict': (i) => timed(() => rawPut('strict', i)),
};

/**
 * A `fetch` that answers at once without the network: what is left of a row is the client's
 * own work (and its IndexedDB transaction), without the loopback's noise around it.
 */
let calledAt = 0;
const instantFetch = async (_input: unknown, init?: RequestInit): Promise<Response> => {
  calledAt = performance.now();
  if (typeof init?.body !== 'string') throw new TypeError('instantFetch: a string body');
  // No body: a constructed body's clone and read (a string's tees a JS stream, a Blob's
  // goes to the blob registry) cost many times the client's own work, which a network
  // body's do not.
  return new Response(null, { status: 201, headers: { 'content-type': 'application/json' } });
};
const instant = (i: number) => instantFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text());
const instantFloor = (i: number) => rawPut('relaxed', i).then((key) => instantFetch(url, { method: 'POST', body: body(i), headers: { 'Idempotency-Key': key } }).then((r) => r.text()));
const instantMemory = createIdempotentFetch({ fetch: instantFetch, store: memoryStore(), retry: false });
const instantIdb = createIdempotentFetch({ fetch: instantFetch, retry: false, store: indexedDbStore({ databaseName: 'bench-sdk-instant' }) });

/** An axios adapter that answers at once, as `instantFetch` does: what is left is axios's own work and ours. */
const instantAdapter: AxiosAdapter = async (config) => {
  if (typeof config.data !== 'string') throw new TypeError('instantAdapter: a string body');
  return { data: '', status: 201, statusText: 'Created', headers: { 'content-type': 'application/json' }, config };
};
const instantAxios = axios.create({ adapter: instantAdapter });
const instantKeyedAxios = axios.create({ adapter: instantAdapter });
installIdempotency(instantKeyedAxios, { retry: false, store: indexedDbStore({ databaseName: 'bench-sdk-instant-axios' }) });
const instantMemoryAxios = axios.create({ adapter: instantAdapter });
installIdempotency(instantMemoryAxios, { retry: false, store: memoryStore() });

/** The same rows with `instantFetch`: the client's own cost, where the network's noise would hide a few percent. */
export const offline: Record<string, Case> = {
  'instant fetch (baseline)': (i) => timed(() => instant(i)),
  'instant floor: raw put (relaxed) + instant fetch with the key': (i) => timed(() => instantFloor(i)),
  'idempotentFetch, memory store, instant fetch': (i) => timed(() => instantMemory(url, { method: 'POST', body: body(i) }).then((r) => r.text())),
  'idempotentFetch, IndexedDB, instant fetch': (i) => timed(() => instantIdb(url, { method: 'POST', body: body(i) }).then((r) => r.text())),
  'instant axios': (i) => timed(() => instantAxios.post(url, body(i))),
  'instant floor + axios: raw put (relaxed) + instant axios with the key': (i) =>
    timed(() => rawPut('relaxed', i).then((key) => instantAxios.post(url, body(i), { headers: { 'Idempotency-Key': key } }))),
  'axios + installIdempotency, memory store, instant axios': (i) => timed(() => instantMemoryAxios.post(url, body(i))),
  'axios + installIdempotency, IndexedDB, instant axios': (i) => timed(() => instantKeyedAxios.post(url, body(i))),
};

/**
 * Each row's time split at the moment `fetch()` is called: before it (the claim, for the
 * floor the raw put) and after it (from the call to the caller's promise resolving).
 */
const splitOf = (send: (i: number) => Promise<unknown>) => async (i: number): Promise<[number, number]> => {
  const start = performance.now();
  await send(i);
  const end = performance.now();
  return [calledAt - start, end - calledAt];
};
export const split: Record<string, (i: number) => Promise<[number, number]>> = {
  'instant fetch': splitOf(instant),
  'instant floor: raw put (relaxed) + instant fetch with the key': splitOf(instantFloor),
  'idempotentFetch, memory store': splitOf((i) => instantMemory(url, { method: 'POST', body: body(i) }).then((r) => r.text())),
  'idempotentFetch, IndexedDB': splitOf((i) => instantIdb(url, { method: 'POST', body: body(i) }).then((r) => r.text())),
};


type Table = 'cases' | 'bursts' | 'puts' | 'offline' | 'split';

/** Per case, every request's ms (`requests` per round, cases interleaved request by request). */
async function run(rounds: number, requests: number, which: Table): Promise<Record<string, number[]>> {
  const table: Record<string, (i: number) => Promise<number | [number, number]>> = { cases, bursts, puts, offline, split }[which];
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(table)) {
    if (which !== 'split') samples[name] = [];
    else [samples[`${name}: before fetch()`], samples[`${name}: after`]] = [[], []];
  }
  const record = (name: string, ms: number | [number, number]) => {
    if (typeof ms === 'number') return (samples[name] ??= []).push(ms);
    (samples[`${name}: before fetch()`] ??= []).push(ms[0]);
    (samples[`${name}: after`] ??= []).push(ms[1]);
  };
  // Warm up: connections opened, code paths compiled.
  for (const send of Object.values(table)) for (let n = 0; n < 10; n++) await send(sequence++);
  const entries = Object.entries(table);
  const cold = which === 'offline' || which === 'split';
  for (let round = 0; round < rounds; round++) {
    for (let n = 0; n < requests; n++) {
      // A new order each time: what a case leaves behind (its timers, garbage) lands on
      // every other case alike, not always on its neighbour (the first case measured 5%
      // slow in a fixed order).
      shuffle(entries);
      for (const [name, send] of entries) {
        if (which === 'cases' && n % 2 === 1 && sparse.has(name)) continue;
        if (cold) await idle();
        record(name, await send(sequence++));
      }
    }
  }
  return samples;
}

(window as unknown as { bench: typeof run }).bench = run;

/** Sends `count` requests through one case, for a CPU profile of it (`BENCH_PROFILE`). */
async function repeat(name: string, count: number): Promise<void> {
  const all = { ...cases, ...offline };
  const send = all[name];
  if (!send) throw new Error(`no case named ${JSON.stringify(name)}: ${Object.keys(all).join(', ')}`);
  for (let n = 0; n < count; n++) await send(sequence++);
}
(window as unknown as { repeat: typeof repeat }).repeat = repeat;
