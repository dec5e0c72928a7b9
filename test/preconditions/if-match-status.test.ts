// installIfMatch with an instance that takes every status as an answer (`validateStatus`,
// as apps that branch on the status do): a 412 came back as a plain response, and its
// ETag, the version now, which the page never showed, was remembered as the one read. The
// same stale save sent again then went over that version: the lost update If-Match exists
// to stop, counted at the origin (the order's version and its qty).
import axios from 'axios';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { memoryStore } from '../../src/core/store.js';
import { installIfMatch, PreconditionFailedError } from '../../src/preconditions/index.js';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { createVerifier, type Verifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';

const api = createOrdersApi();
let verifier: Verifier;
let url: string;
let path: string;

beforeAll(async () => {
  verifier = createVerifier({ handler: api, principal: false });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());
beforeEach(async () => {
  api.reset();
  await verifier.reset();
  const created = await post(`${url}/orders`, { key: crypto.randomUUID(), body: { item: 'tea', qty: 1 } });
  path = `/orders/${created.json<{ id: string }>().id}`;
});

const tab = () => {
  const instance = axios.create({ baseURL: url, validateStatus: () => true });
  installIdempotency(instance, { store: memoryStore(), locks: null });
  return { instance, ...installIfMatch(instance) };
};

describe('installIfMatch on an instance whose validateStatus takes every status', () => {
  it('a stale save is a PreconditionFailedError, and the same save again does not overwrite the version it never read', async () => {
    const a = tab();
    const b = tab();
    await a.instance.get(path);
    await b.instance.get(path);
    expect((await a.instance.patch(path, { qty: 5 })).status).toBe(200);

    const stale = await b.instance.patch(path, { qty: 9 }).then((answer) => answer.status, (error: unknown) => error);
    // Before: 412 as a plain answer.
    expect(stale).toBeInstanceOf(PreconditionFailedError);
    expect(stale).toMatchObject({ etag: '"2"', current: { qty: 5, version: 2 } });
    expect(axios.isAxiosError((stale as Error).cause)).toBe(true);
    // Not the version this page read: only a GET (or versions.remember) moves it.
    expect(b.versions.get(`${url}${path}`)).toBe('"1"');

    // The user saves again without reloading. Before: If-Match "2" from the 412, 200, qty 9 over 5.
    await b.instance.patch(path, { qty: 9 }).catch(() => undefined);
    expect(api.orders()[0]).toMatchObject({ qty: 5, version: 2 });
  });

  it('leaves a 412 to a method it does not manage as the answer validateStatus took', async () => {
    const instance = axios.create({ baseURL: url, validateStatus: () => true });
    installIdempotency(instance, { store: memoryStore(), locks: null });
    const { versions } = installIfMatch(instance, { methods: ['PUT'] });
    expect((await post(`${url}${path}`, { method: 'PATCH', key: 'elsewhere', body: { qty: 5 }, headers: { 'If-Match': '"1"' } })).status).toBe(200);
    const answer = await instance.patch(path, { qty: 9 }, { headers: { 'If-Match': '"1"' } });
    expect(answer.status).toBe(412);
    expect(versions.get(`${url}${path}`)).toBeUndefined();
  });
});
