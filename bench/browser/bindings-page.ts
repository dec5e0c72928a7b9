/**
 * Runs in headless Chromium for `bench/bindings.ts`: one submission of each row, with every
 * browser binding it touches logged (`log-bindings.ts`, imported first), split where
 * `fetch()` (or axios's `XMLHttpRequest.send`) is called and where the answer arrives.
 */
import { bindings } from './log-bindings.js';
import axios from 'axios';
import { installIdempotency } from '../../src/axios/index.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { floorPut } from './floor-put.js';

const url = '/api/orders';
const body = (i: number) => JSON.stringify({ sku: `sku-${i}`, qty: 1, note: 'benchmark' });
const idle = () => new Promise((resolve) => setTimeout(resolve, 4));

// The phases: `fetch()` (or `send`) ends the click's part; the answer's arrival starts the last.
const originalFetch = fetch;
const phasedFetch = function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
  bindings.phase = 'fetch() -> answer';
  const answer = originalFetch(input, init);
  answer.then(() => (bindings.phase = 'answer -> caller'), () => undefined);
  return answer;
};
Object.defineProperty(globalThis, 'fetch', { configurable: true, get: () => phasedFetch });
const send = XMLHttpRequest.prototype.send;
const addEventListener = EventTarget.prototype.addEventListener;
XMLHttpRequest.prototype.send = function (this: XMLHttpRequest, payload) {
  bindings.phase = 'send() -> answer';
  addEventListener.call(this, 'readystatechange', () => this.readyState === 4 && (bindings.phase = 'answer -> caller'));
  return send.call(this, payload);
};

const preparing = createSubmitter({ retry: false });
const preparedFetch = createIdempotentFetch({ submitter: preparing });
const idbFetch = createIdempotentFetch({ retry: false });
const keyedAxios = axios.create();
installIdempotency(keyedAxios, { retry: false });
const rawPut = floorPut('bindings-floor');

const cases: Record<string, [setup: (i: number) => Promise<unknown>, send: (i: number) => Promise<unknown>]> = {
  'fetch after 4 ms idle': [idle, (i) => fetch(url, { method: 'POST', body: body(i) })],
  'prepared, click 4 ms after its claim': [(i) => preparing.prepare({ method: 'POST', url, body: body(i) }).then(idle), (i) => preparedFetch(url, { method: 'POST', body: body(i) })],
  'floor: raw put + keyed fetch': [idle, (i) => rawPut(i).then((key) => fetch(url, { method: 'POST', body: body(i), headers: { 'Idempotency-Key': key } }))],
  'idempotentFetch, IndexedDB': [idle, (i) => idbFetch(url, { method: 'POST', body: body(i) })],
  'axios alone': [idle, (i) => axios.post(url, body(i))],
  'axios + installIdempotency, IndexedDB': [idle, (i) => keyedAxios.post(url, body(i))],
};

let sequence = 0;
async function run(repeats: number): Promise<Record<string, { phase: string; name: string; by: string }[][]>> {
  const out: Record<string, { phase: string; name: string; by: string }[][]> = {};
  for (const [name, [setup, submit]] of Object.entries(cases)) {
    for (let n = 0; n < 20; n++) {
      await setup(sequence);
      await submit(sequence++);
    }
    out[name] = [];
    for (let n = 0; n < repeats; n++) {
      await setup(sequence);
      bindings.log = [];
      bindings.phase = 'start -> fetch()';
      bindings.recording = true;
      await submit(sequence++);
      bindings.recording = false;
      out[name].push(bindings.log);
      // Past the settle write (100 ms), so the next submission starts as the bench's do.
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }
  return out;
}
(window as unknown as { bindings: typeof run }).bindings = run;
