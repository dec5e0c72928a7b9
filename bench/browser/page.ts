/**
 * Runs in headless Chromium: times sequential POSTs to a loopback server through each
 * client, interleaving rounds so that drift in the machine's speed hits every case alike.
 */
import axios from 'axios';
import { installIdempotency } from '../../src/axios/index.js';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';

type Send = (i: number) => Promise<unknown>;

const url = '/api/orders';
const body = (i: number) => JSON.stringify({ sku: `sku-${i}`, qty: 1, note: 'benchmark' });
let sequence = 0;

const plainAxios = axios.create();
const keyedAxios = axios.create();
installIdempotency(keyedAxios, { retry: false });
const memoryFetch = createIdempotentFetch({ store: memoryStore(), retry: false });
const memoryNoLockFetch = createIdempotentFetch({ store: memoryStore(), retry: false, locks: null });
const idbFetch = createIdempotentFetch({ retry: false });

const cases: Record<string, Send> = {
  'fetch (baseline)': (i) => fetch(url, { method: 'POST', body: body(i) }).then((r) => r.text()),
  'idempotentFetch, memory store': (i) => memoryFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text()),
  'idempotentFetch, memory, no lock': (i) => memoryNoLockFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text()),
  'idempotentFetch, IndexedDB': (i) => idbFetch(url, { method: 'POST', body: body(i) }).then((r) => r.text()),
  'axios': (i) => plainAxios.post(url, body(i)),
  'axios + installIdempotency, IndexedDB': (i) => keyedAxios.post(url, body(i)),
};

async function timeRound(send: Send, requests: number): Promise<number> {
  const start = performance.now();
  for (let n = 0; n < requests; n++) await send(sequence++);
  return (performance.now() - start) / requests;
}

async function run(rounds: number, requests: number): Promise<Record<string, number[]>> {
  const samples: Record<string, number[]> = {};
  for (const name of Object.keys(cases)) samples[name] = [];
  for (const name of Object.keys(cases)) await timeRound(cases[name]!, 10); // warm up
  for (let round = 0; round < rounds; round++) {
    for (const [name, send] of Object.entries(cases)) samples[name]!.push(await timeRound(send, requests));
  }
  return samples;
}

(window as unknown as { bench: typeof run }).bench = run;
