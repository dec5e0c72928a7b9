/**
 * A FormData body is encoded by the platform with a random multipart boundary, a new one
 * each time it is sent: a retry under the same key was another payload to a server that
 * compares the bytes (our verifier, Stripe), which answered 422. The key was then dropped,
 * so the user's next click ran the order a second time.
 */
import axios, { AxiosError, getAdapter } from 'axios';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { AmbiguousOutcomeError } from '../../src/core/errors.js';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createVerifier, type Verifier } from '../../src/server/index.js';
import { rawBodyOf } from '../../src/server/request-body.js';

/** What the handler read from each run's multipart body. */
let runs: Record<string, unknown>[] = [];
let verifier: Verifier;
let url: string;

beforeAll(async () => {
  verifier = createVerifier({
    principal: false,
    handler: async (req: IncomingMessage, res: ServerResponse) => {
      const raw = await rawBodyOf(req, 1 << 20);
      const form = await new Response(new Uint8Array(raw), { headers: { 'content-type': String(req.headers['content-type']) } }).formData();
      runs.push(Object.fromEntries([...form].map(([name, value]) => [name, typeof value === 'string' ? value : `${value.name}:${value.size}`])));
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ order: runs.length }));
    },
  });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());
beforeEach(async () => {
  runs = [];
  await verifier.reset();
});

const engine = (attempts = 3) => ({ store: memoryStore(), locks: null, retry: { attempts, baseDelay: 1, maxDelay: 2 } });

function order(): FormData {
  const form = new FormData();
  form.append('sku', 'A');
  form.append('note', 'line one\r\nline "two"');
  form.append('receipt', new File(['%PDF-1.4 bytes'], 'receipt.pdf', { type: 'application/pdf' }));
  return form;
}
const EXPECTED = { sku: 'A', note: 'line one\r\nline "two"', receipt: 'receipt.pdf:14' };

/** A fetch whose first `lost` answers are lost on the way back, after the server acted. */
function losing(lost: number): typeof fetch {
  let calls = 0;
  return async (input, init) => {
    const response = await fetch(input, init);
    if (++calls > lost) return response;
    await response.arrayBuffer();
    throw new TypeError('fetch failed');
  };
}

describe('fetch', () => {
  it('an answer lost after the server acted: the retry is the same payload, replayed; one run', async () => {
    const api = createIdempotentFetch({ ...engine(), fetch: losing(1) });
    const response = await api(`${url}/orders`, { method: 'POST', body: order() });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ order: 1 });
    expect(runs).toEqual([EXPECTED]);
  });

  it('tried again after AmbiguousOutcomeError (the key kept), with a new FormData of the same fields: replayed; one run', async () => {
    const api = createIdempotentFetch({ ...engine(1), fetch: losing(1) });
    await expect(api(`${url}/orders`, { method: 'POST', body: order() })).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    const again = await api(`${url}/orders`, { method: 'POST', body: order() });
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual({ order: 1 });
    expect(runs).toEqual([EXPECTED]);
  });

  it('a Request with a FormData body (as ky sends it), tried again after AmbiguousOutcomeError: the same intent and bytes, replayed; one run', async () => {
    // Read as bytes, the Request's random boundary was part of the fingerprint: the second
    // Request was another intent, with a new key, and the order ran twice.
    const api = createIdempotentFetch({ ...engine(1), fetch: losing(1) });
    const request = () => new Request(`${url}/orders`, { method: 'POST', body: order() });
    await expect(api(request())).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    const again = await api(request());
    expect(again.status).toBe(201);
    expect(await again.json()).toEqual({ order: 1 });
    expect(runs).toEqual([EXPECTED]);
  });
});

describe('axios', () => {
  it('an answer lost after the server acted: the retry is the same payload, replayed; one run', async () => {
    const api = axios.create({ baseURL: url });
    const http = getAdapter('http');
    let calls = 0;
    api.defaults.adapter = async (config) => {
      const response = await http(config);
      if (++calls === 1) throw new AxiosError('socket hang up', 'ECONNRESET', config);
      return response;
    };
    installIdempotency(api, engine());
    const response = await api.post('/orders', order());
    expect(response.status).toBe(201);
    expect(response.data).toEqual({ order: 1 });
    expect(runs).toEqual([EXPECTED]);
  });
});

describe('fetch: a multipart Request built as bytes (not from a FormData)', () => {
  it('is sent as its own bytes: a part\'s Content-Type and text not in UTF-8 stay as written', async () => {
    // Read as a FormData and encoded again, a text part lost its Content-Type (a JSON part
    // an API reads by it) and Latin-1 text became U+FFFD: another payload than the caller's.
    const boundary = 'hand-made-boundary';
    const text = `--${boundary}\r\nContent-Disposition: form-data; name="meta"\r\nContent-Type: application/json\r\n\r\n{"sku":"A"}\r\n--${boundary}\r\nContent-Disposition: form-data; name="city"\r\n\r\nSant\xe9\r\n--${boundary}--\r\n`;
    const bytes = Uint8Array.from(text, (char) => char.charCodeAt(0));
    const sent: Uint8Array[] = [];
    const api = createIdempotentFetch({
      ...engine(),
      fetch: async (input, init) => {
        sent.push(new Uint8Array(await new Request(input, init).arrayBuffer()));
        return new Response('{}', { status: 201 });
      },
    });
    const response = await api(new Request(`${url}/orders`, { method: 'POST', body: bytes, headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }));
    expect(response.status).toBe(201);
    expect(sent.map((body) => Buffer.from(body).toString('latin1'))).toEqual([text]);
  });
});
