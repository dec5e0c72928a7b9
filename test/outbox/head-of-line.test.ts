/**
 * A held request that gets no answer for a reason of its own (broken CORS on one endpoint, a
 * `beforeReplay` that cannot sign its URL, `redirect: 'error'` meeting a redirect) must not
 * keep the requests held after it unsent for ever, in the page or in the service worker: a
 * pass used to stop at the first network error, so with every page closed they were given up
 * unsent at `retention`. The rule: requests to other origins go on; for the failing request's
 * origin up to two more requests are tried (the next one held, then the one due earliest),
 * and only if neither gets an answer is that origin taken as down for the rest of the pass.
 * Requests that got no answer because the network is down stay in the order held, and a pass
 * then costs at most three attempts per origin.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createOutbox, type Outbox } from '../../src/outbox/index.js';
import { replayOutbox } from '../../src/sw/index.js';

let counter = 0;
let outboxes: Outbox[] = [];

beforeEach(() => void vi.stubGlobal('indexedDB', new IDBFactory()));
afterEach(() => {
  for (const outbox of outboxes) outbox.close();
  outboxes = [];
  vi.unstubAllGlobals();
});

const held = (key: string, url: string) => ({ method: 'POST', url, headers: [['idempotency-key', key]] as [string, string][], body: key, keyHeader: 'Idempotency-Key', key, fingerprint: `fp-${key}` });

/** Holds each [key, url] offline, one millisecond apart, and closes the page: only the service worker is left. */
async function heldInWorker(requests: [string, string][]): Promise<string> {
  const databaseName = `head-of-line-${++counter}`;
  let t = Date.now() - 10_000;
  const outbox = createOutbox({ databaseName, locks: null, backgroundSync: false, online: () => false, now: () => (t += 1) });
  for (const [key, url] of requests) await outbox.hold(held(key, url));
  outbox.close();
  return databaseName;
}

/** A fetch that fails (no answer) for the URLs `broken` matches, answers 201 otherwise, and logs each request's key. */
function origin(broken: (url: string) => boolean) {
  const sent: string[] = [];
  const answered: string[] = [];
  const fetch = async (request: Request) => {
    const key = request.headers.get('idempotency-key') ?? '';
    sent.push(key);
    if (broken(request.url)) throw new TypeError('Failed to fetch');
    answered.push(key);
    return new Response('{}', { status: 201 });
  };
  return { fetch, sent, answered };
}

async function queuedKeys(databaseName: string): Promise<string[]> {
  const outbox = createOutbox({ databaseName, locks: null, backgroundSync: false, online: () => false });
  outboxes.push(outbox);
  return (await outbox.list()).filter((item) => item.state === 'queued').map((item) => item.key);
}

it('the service worker sends a request to another origin held after one that fails on its own, in the same sync', async () => {
  const databaseName = await heldInWorker([
    ['k-broken', 'https://broken-cors.test/orders'],
    ['k-order', 'https://shop.test/orders'],
  ]);
  const shop = origin((url) => url.startsWith('https://broken-cors.test'));
  await expect(replayOutbox({ databaseName, fetch: shop.fetch })).rejects.toMatchObject({ code: 'outbox-still-waiting', ids: ['k-broken'] });
  expect(shop.answered).toEqual(['k-order']);
  expect(await queuedKeys(databaseName)).toEqual(['k-broken']);
});

it('the service worker sends the requests to the same origin held after one that fails on its own, in held order', async () => {
  const databaseName = await heldInWorker([
    ['k-broken', 'https://shop.test/legacy/orders'],
    ['k-a', 'https://shop.test/orders'],
    ['k-b', 'https://shop.test/orders'],
    ['k-c', 'https://shop.test/orders'],
  ]);
  const shop = origin((url) => url.includes('/legacy/'));
  await expect(replayOutbox({ databaseName, fetch: shop.fetch })).rejects.toMatchObject({ ids: ['k-broken'] });
  expect(shop.sent).toEqual(['k-broken', 'k-a', 'k-b', 'k-c']);
  expect(await queuedKeys(databaseName)).toEqual(['k-broken']);
});

it('two requests failing on their own at the head of an origin do not hold a later one back, and each answered one is sent once', async () => {
  const databaseName = await heldInWorker([
    ['k-x1', 'https://shop.test/legacy/1'],
    ['k-x2', 'https://shop.test/legacy/2'],
    ['k-y', 'https://shop.test/orders'],
  ]);
  const shop = origin((url) => url.includes('/legacy/'));
  await replayOutbox({ databaseName, fetch: shop.fetch }).catch(() => undefined);
  expect(shop.answered).toEqual(['k-y']);
  expect(await queuedKeys(databaseName)).toEqual(['k-x1', 'k-x2']);
  await replayOutbox({ databaseName, fetch: shop.fetch }).catch(() => undefined);
  expect(shop.answered).toEqual(['k-y']);
});

it('in the page, flush() sends the requests held after one whose beforeReplay cannot sign its URL; that one stays held', async () => {
  let t = Date.now() - 10_000;
  let online = false;
  const shop = origin(() => false);
  const outbox = createOutbox({
    databaseName: `head-of-line-${++counter}`,
    locks: null,
    backgroundSync: false,
    online: () => online,
    now: () => (t += 1),
    fetch: shop.fetch,
    beforeReplay: (request) => {
      if (request.url.includes('/partner/')) throw new Error('no signing key for this URL');
      return request;
    },
  });
  outboxes.push(outbox);
  await outbox.hold(held('k-partner', 'https://shop.test/partner/orders'));
  const later = await outbox.hold(held('k-order', 'https://shop.test/orders'));
  online = true;
  await outbox.flush();
  // Checked before the backoff timer's pass (which skips the failing one, not due) can send it.
  expect(shop.answered).toEqual(['k-order']);
  expect((await later.answer).status).toBe(201);
  expect((await outbox.list()).map((item) => item.key)).toEqual(['k-partner']);
});

it('the network down: a pass costs at most three attempts per origin, drops nothing, and once it is back the requests go in the order held', async () => {
  const requests: [string, string][] = [
    ['k-1', 'https://shop.test/orders'],
    ['k-2', 'https://api.test/items'],
    ['k-3', 'https://shop.test/orders'],
    ['k-4', 'https://shop.test/orders'],
    ['k-5', 'https://api.test/items'],
    ['k-6', 'https://shop.test/orders'],
  ];
  const databaseName = await heldInWorker(requests);
  let down = true;
  const network = origin(() => down);
  for (let sync = 0; sync < 3; sync += 1) {
    const before = network.sent.length;
    await expect(replayOutbox({ databaseName, fetch: network.fetch })).rejects.toMatchObject({ ids: requests.map(([key]) => key) });
    expect(network.sent.length - before).toBeLessThanOrEqual(6);
  }
  expect(network.answered).toEqual([]);
  expect(await queuedKeys(databaseName)).toEqual(requests.map(([key]) => key));

  down = false;
  await expect(replayOutbox({ databaseName, fetch: network.fetch })).resolves.toBeUndefined();
  expect(network.answered).toEqual(requests.map(([key]) => key));
  expect(await queuedKeys(databaseName)).toEqual([]);
});

it('in the page, the network down: one flush tries every origin, at most three attempts each', async () => {
  let t = Date.now() - 10_000;
  let online = false;
  const network = origin(() => true);
  const outbox = createOutbox({ databaseName: `head-of-line-${++counter}`, locks: null, backgroundSync: false, online: () => online, now: () => (t += 1), fetch: network.fetch });
  outboxes.push(outbox);
  for (const key of ['k-1', 'k-2', 'k-3', 'k-4']) await outbox.hold(held(key, 'https://shop.test/orders'));
  await outbox.hold(held('k-5', 'https://api.test/items'));
  online = true;
  await outbox.flush();
  expect(network.sent[0]).toBe('k-1');
  expect(network.sent).toContain('k-5');
  expect(network.sent.length).toBeLessThanOrEqual(4);
  expect((await outbox.list()).map((item) => item.key)).toEqual(['k-1', 'k-2', 'k-3', 'k-4', 'k-5']);
});
