import axios, { AxiosError, getAdapter, isAxiosError } from 'axios';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createIfMatchFetch, installIfMatch, PreconditionFailedError } from '../../src/preconditions/index.js';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { checkIfMatch, createVerifier, etagOf, ifMatchHolds, type IdempotencyEvent, type Verifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';

const api = createOrdersApi();
let verifier: Verifier;
let url: string;
let orderUrl: string;

beforeAll(async () => {
  verifier = createVerifier({ handler: api, principal: false });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());
beforeEach(async () => {
  api.reset();
  await verifier.reset();
  const created = await post(`${url}/orders`, { key: crypto.randomUUID(), body: { item: 'tea', qty: 1 } });
  orderUrl = `${url}/orders/${created.json<{ id: string }>().id}`;
});

const patch = (body: unknown) => ({ method: 'PATCH', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const version = () => api.orders()[0]!.version;

describe('the server helper', () => {
  it('compares strong tags, takes * and lists, never matches a weak tag or a missing resource', () => {
    expect(etagOf(3)).toBe('"3"');
    expect(() => etagOf('a"b')).toThrow(RangeError);
    expect(ifMatchHolds('"3"', '"3"')).toBe(true);
    expect(ifMatchHolds('"2", "3"', '"3"')).toBe(true);
    expect(ifMatchHolds('W/"3"', '"3"')).toBe(false);
    expect(ifMatchHolds('"2"', '"3"')).toBe(false);
    expect(ifMatchHolds('*', '"3"')).toBe(true);
    expect(ifMatchHolds('*', undefined)).toBe(false);
    expect(typeof checkIfMatch).toBe('function');
  });

  it('the built-in API: 428 without If-Match, 412 with the current version and representation when stale', async () => {
    const blind = await post(orderUrl, { method: 'PATCH', key: 'blind', body: { qty: 2 } });
    expect(blind.status).toBe(428);
    expect(blind.json().type).toBe('https://submit-once.dev/problems/precondition-required');
    expect((await post(orderUrl, { method: 'PATCH', key: 'ok', body: { qty: 2 }, headers: { 'If-Match': '"1"' } })).status).toBe(200);
    const stale = await post(orderUrl, { method: 'PATCH', key: 'stale', body: { qty: 3 }, headers: { 'If-Match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.headers.get('etag')).toBe('"2"');
    expect(stale.json()).toMatchObject({ type: 'https://submit-once.dev/problems/precondition-failed', etag: '"2"', current: { qty: 2, version: 2 } });
    expect(version()).toBe(2);
  });
});

describe('createIfMatchFetch', () => {
  it('remembers the ETag of a GET and of each update, and sends it as If-Match', async () => {
    const seen: Array<string | null> = [];
    const api2 = createIfMatchFetch(async (input, init) => {
      seen.push(new Headers(init?.headers).get('if-match'));
      return fetch(input, init);
    });
    await api2(orderUrl);
    expect(api2.versions.get(orderUrl)).toBe('"1"');
    const first = await api2(orderUrl, { ...patch({ qty: 2 }), headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k1' } });
    expect(first.status).toBe(200);
    const second = await api2(orderUrl, { ...patch({ qty: 3 }), headers: { 'content-type': 'application/json', 'Idempotency-Key': 'k2' } });
    expect(second.status).toBe(200);
    expect(seen).toEqual([null, '"1"', '"2"']);
    expect(version()).toBe(3);
  });

  /** Two tabs read the order, then the first saves qty 5 (version 2): the second's copy is stale. */
  async function staleTab() {
    const tabA = createIfMatchFetch(createIdempotentFetch({ store: memoryStore(), locks: null }));
    const tabB = createIfMatchFetch(createIdempotentFetch({ store: memoryStore(), locks: null }));
    await tabA(orderUrl);
    await tabB(orderUrl);
    expect((await tabA(orderUrl, patch({ qty: 5 }))).status).toBe(200);
    return tabB;
  }

  it('a stale version: PreconditionFailedError with the current version and representation; nothing written', async () => {
    const tabB = await staleTab();
    const error = await tabB(orderUrl, patch({ qty: 9 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error).toMatchObject({ code: 'precondition-failed', status: 412, etag: '"2"', current: { qty: 5, version: 2 } });
    expect(api.orders()[0]).toMatchObject({ qty: 5, version: 2 });
  });

  it('after a 412, the same change over the version read again is sent, not answered with that 412', async () => {
    const tabB = await staleTab();
    expect(await tabB(orderUrl, patch({ qty: 9 })).catch((e: unknown) => e)).toBeInstanceOf(PreconditionFailedError);
    // The user reloads the order and saves the very same change at once (inside the settle window).
    await tabB(orderUrl);
    const saved = await tabB(orderUrl, patch({ qty: 9 }));
    expect(saved.status).toBe(200);
    expect(api.orders()[0]).toMatchObject({ qty: 9, version: 3 });
  });

  it('a retried update that already succeeded gets the replay, not a 412 (effect counted once)', async () => {
    let attempts = 0;
    // The first answer is lost after the server applied the update: the SDK retries with the same key and If-Match.
    const losing: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (init?.method === 'PATCH' && ++attempts === 1) throw new TypeError('network error');
      return response;
    };
    const client = createIfMatchFetch(createIdempotentFetch({ store: memoryStore(), locks: null, fetch: losing, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } }));
    await client(orderUrl);
    const response = await client(orderUrl, patch({ qty: 7 }));
    expect(attempts).toBe(2); // the lost PATCH, its retry
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotent-replayed')).toBe('true');
    expect(await response.json()).toMatchObject({ qty: 7, version: 2 });
    expect(version()).toBe(2);
  });

  it("a caller's own If-Match wins over the remembered ETag, in init or on a Request", async () => {
    const sent: Array<string | null> = [];
    const client = createIfMatchFetch(
      createIdempotentFetch({
        store: memoryStore(),
        locks: null,
        fetch: async (input, init) => {
          sent.push(new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined)).get('if-match'));
          return fetch(input, init);
        },
      }),
    );
    await client(orderUrl); // remembers "1"
    // Another tab saves version 2; this page read it elsewhere and names it itself.
    expect((await post(orderUrl, { method: 'PATCH', key: 'other-tab', body: { qty: 5 }, headers: { 'If-Match': '"1"' } })).status).toBe(200);
    const own = await client(orderUrl, { ...patch({ qty: 6 }), headers: { 'content-type': 'application/json', 'If-Match': '"2"' } });
    expect(own.status).toBe(200);
    const fromRequest = await client(new Request(orderUrl, { ...patch({ qty: 7 }), headers: { 'content-type': 'application/json', 'if-match': '*' } }));
    expect(fromRequest.status).toBe(200);
    expect(sent).toEqual([null, '"2"', '*']);
    expect(api.orders()[0]).toMatchObject({ qty: 7, version: 4 });
  });

  it('control: the same retry without an idempotency key meets its own success as a 412', async () => {
    const first = await post(orderUrl, { method: 'PATCH', key: 'applied', body: { qty: 7 }, headers: { 'If-Match': '"1"' } });
    expect(first.status).toBe(200);
    // As if the verifier were not there (or keyed nothing): the handler itself sees the retry.
    const unkeyed = createVerifier({ handler: api, principal: false, required: false });
    const unkeyedUrl = await unkeyed.listen(0);
    try {
      const retry = await post(orderUrl.replace(url, unkeyedUrl), { method: 'PATCH', body: { qty: 7 }, headers: { 'If-Match': '"1"' } });
      expect(retry.status).toBe(412);
    } finally {
      await unkeyed.close();
    }
  });
});

describe('installIfMatch (axios)', () => {
  it('remembers ETags, sends If-Match, and rejects a stale update as PreconditionFailedError with the AxiosError as cause', async () => {
    const tabA = axios.create({ baseURL: url });
    const tabB = axios.create({ baseURL: url });
    for (const tab of [tabA, tabB]) {
      installIdempotency(tab, { store: memoryStore(), locks: null });
      installIfMatch(tab);
    }
    const path = orderUrl.slice(url.length);
    await tabA.get(path);
    await tabB.get(path);
    const saved = await tabA.patch(path, { qty: 5 });
    expect(saved.config.headers.get('If-Match')).toBe('"1"');
    const error = await tabB.patch(path, { qty: 9 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error).toMatchObject({ code: 'precondition-failed', etag: '"2"', current: { qty: 5, version: 2 }, url: orderUrl });
    expect(isAxiosError((error as Error).cause)).toBe(true);
    expect(version()).toBe(2);
  });

  it("a caller's own If-Match wins over the remembered ETag", async () => {
    const tab = axios.create({ baseURL: url });
    installIdempotency(tab, { store: memoryStore(), locks: null });
    installIfMatch(tab);
    const path = orderUrl.slice(url.length);
    await tab.get(path); // remembers "1"
    expect((await post(orderUrl, { method: 'PATCH', key: 'other-tab', body: { qty: 5 }, headers: { 'If-Match': '"1"' } })).status).toBe(200);
    const own = await tab.patch(path, { qty: 6 }, { headers: { 'If-Match': '"2"' } });
    expect(own.status).toBe(200);
    expect(own.config.headers.get('If-Match')).toBe('"2"');
    expect(api.orders()[0]).toMatchObject({ qty: 6, version: 3 });
  });

  it('after a 412, the same change over the version read again is sent, not answered with that 412', async () => {
    const tab = axios.create({ baseURL: url });
    installIdempotency(tab, { store: memoryStore(), locks: null });
    installIfMatch(tab);
    const path = orderUrl.slice(url.length);
    await tab.get(path);
    expect((await post(orderUrl, { method: 'PATCH', key: 'elsewhere', body: { qty: 5 }, headers: { 'If-Match': '"1"' } })).status).toBe(200);
    expect(await tab.patch(path, { qty: 9 }).catch((e: unknown) => e)).toBeInstanceOf(PreconditionFailedError);
    await tab.get(path);
    expect((await tab.patch(path, { qty: 9 })).status).toBe(200);
    expect(api.orders()[0]).toMatchObject({ qty: 9, version: 3 });
  });

  it('a retried update that already succeeded gets the replay with the same If-Match; uninstall stops sending it', async () => {
    const http = getAdapter('http');
    let patches = 0;
    const ifMatch: Array<string | undefined> = [];
    const instance = axios.create({
      baseURL: url,
      // The first PATCH reaches the server, which applies it; its answer is lost.
      adapter: async (config) => {
        const answer = await http(config);
        if (config.method?.toUpperCase() === 'PATCH') {
          ifMatch.push(String(config.headers.get('If-Match') ?? ''));
          if (++patches === 1) throw new AxiosError('Network Error', AxiosError.ERR_NETWORK, config);
        }
        return answer;
      },
    });
    installIdempotency(instance, { store: memoryStore(), locks: null, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
    const { uninstall, versions } = installIfMatch(instance);
    const path = orderUrl.slice(url.length);
    await instance.get(path);
    const answer = await instance.patch(path, { qty: 7 });
    expect(answer.status).toBe(200);
    expect(answer.headers['idempotent-replayed']).toBe('true');
    expect(ifMatch).toEqual(['"1"', '"1"']);
    expect(version()).toBe(2);
    expect(versions.get(orderUrl)).toBe('"2"');
    uninstall();
    const blind = await instance.patch(path, { qty: 8 }).catch((e: unknown) => e);
    expect(isAxiosError(blind) && blind.response?.status).toBe(428);
  });
});

// A caller that keeps its own key for a form (`idempotency: { key }`, or an Idempotency-Key
// it sets) and saves again after a 412 over the version it read again: the verifier's
// fingerprint leaves If-Match out (the client's takes it in), so a stored 412 was replayed
// to it for ever, naming as "current" the very version it sent. A refusal of checkIfMatch
// is not stored (nothing ran: the key is released); a handler's own 412 is stored.
describe('one key, a 412, then the same change over the version read again', () => {
  beforeEach(async () => {
    // Another editor saves version 2.
    expect((await post(orderUrl, { method: 'PATCH', key: 'other', body: { qty: 5 }, headers: { 'If-Match': '"1"' } })).status).toBe(200);
  });

  it('the verifier does not replay the 412 to a request with another If-Match', async () => {
    const stale = await post(orderUrl, { method: 'PATCH', key: 'form-1', body: { qty: 9 }, headers: { 'If-Match': '"1"' } });
    expect(stale.status).toBe(412);
    expect(stale.json()).toMatchObject({ etag: '"2"' });
    const again = await post(orderUrl, { method: 'PATCH', key: 'form-1', body: { qty: 9 }, headers: { 'If-Match': '"2"' } });
    // Before: 412, replayed, "current is 2" to a request that named 2.
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.status).not.toBe(412);
  });

  it("createIfMatchFetch over idempotentFetch with the caller's own key: the save after a re-read is not answered with the old 412", async () => {
    const client = createIfMatchFetch(createIdempotentFetch({ store: memoryStore(), locks: null }));
    const save = () =>
      client(orderUrl, { method: 'PATCH', body: JSON.stringify({ qty: 9 }), headers: { 'content-type': 'application/json' }, idempotency: { key: 'form-2' } } as RequestInit);
    client.versions.remember(orderUrl, '"1"');
    expect(await save().catch((e: unknown) => e)).toBeInstanceOf(PreconditionFailedError);
    await client(orderUrl); // re-read: "2"
    const outcome = await save().catch((e: unknown) => e);
    // Before: PreconditionFailedError { etag: '"2"' }, the version this save sent.
    expect(outcome).not.toBeInstanceOf(PreconditionFailedError);
  });
});

describe("a 412 the handler answers on its own (not checkIfMatch's)", () => {
  it('is stored and replayed as any answer: only the middleware knows a refusal of checkIfMatch ran nothing', async () => {
    let runs = 0;
    const own = createVerifier({
      principal: false,
      handler: (_req, res) => {
        runs++;
        res.statusCode = 412;
        res.end('refused by the handler');
      },
    });
    const ownUrl = await own.listen(0);
    try {
      const first = await post(`${ownUrl}/orders`, { key: 'own-412', body: {} });
      const second = await post(`${ownUrl}/orders`, { key: 'own-412', body: {} });
      expect([first.status, second.status, second.headers.get('idempotent-replayed')]).toEqual([412, 412, 'true']);
      expect(runs).toBe(1);
    } finally {
      await own.close();
    }
  });
});

describe('the release of a refusal of checkIfMatch', () => {
  it("is told as a 'released' event, reason precondition-failed", async () => {
    const events: IdempotencyEvent[] = [];
    const refusing = createVerifier({
      principal: false,
      onEvent: (event) => events.push(event),
      handler: (req, res) => {
        if (!checkIfMatch(req, res, { etag: '"7"' })) return;
        res.end('updated');
      },
    });
    const refusingUrl = await refusing.listen(0);
    try {
      expect((await post(`${refusingUrl}/orders/1`, { method: 'PATCH', key: 'k', body: {}, headers: { 'If-Match': '"6"' } })).status).toBe(412);
      // The same key runs once the key is free: its release was told by then.
      expect((await post(`${refusingUrl}/orders/1`, { method: 'PATCH', key: 'k', body: {}, headers: { 'If-Match': '"7"' } })).status).toBe(200);
      expect(events.filter((e) => e.type === 'released')).toMatchObject([{ type: 'released', reason: 'precondition-failed' }]);
    } finally {
      await refusing.close();
    }
  });
});
