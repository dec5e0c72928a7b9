// A caller that keeps its own key for a form (`idempotency: { key }`, or an
// Idempotency-Key it sets) and saves again after a 412, over the version it read again:
// the verifier's fingerprint leaves If-Match out (the client's takes it in), so a stored
// 412 was replayed to it for ever, naming as "current" the very version it sent. A
// refusal of checkIfMatch is now not stored (nothing ran: the key is released), while a
// 412 a handler answers on its own is stored and replayed as any answer.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createIfMatchFetch, PreconditionFailedError } from '../../src/preconditions/index.js';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { checkIfMatch, createVerifier, type IdempotencyEvent, type Verifier } from '../../src/server/index.js';
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
  // Another editor saves version 2.
  expect((await post(orderUrl, { method: 'PATCH', key: 'other', body: { qty: 5 }, headers: { 'If-Match': '"1"' } })).status).toBe(200);
});

describe('one key, a 412, then the same change over the version read again', () => {
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
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(events.filter((e) => e.type === 'released')).toMatchObject([{ type: 'released', reason: 'precondition-failed' }]);
      expect((await post(`${refusingUrl}/orders/1`, { method: 'PATCH', key: 'k', body: {}, headers: { 'If-Match': '"7"' } })).status).toBe(200);
    } finally {
      await refusing.close();
    }
  });
});
