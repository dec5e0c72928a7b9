/**
 * Behind a request that fails by itself, a request that got no answer only because the network
 * was down keeps its place once the network is back: the first extra try after a failure is
 * the next one held (found by the second review of the head-of-line rule: with the one due
 * earliest tried first, the origin saw k-b before k-a).
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createOutbox } from '../../src/outbox/index.js';
import { replayOutbox } from '../../src/sw/index.js';

beforeEach(() => void vi.stubGlobal('indexedDB', new IDBFactory()));
afterEach(() => vi.unstubAllGlobals());

const held = (key: string, url: string) => ({ method: 'POST', url, headers: [['idempotency-key', key]] as [string, string][], body: key, keyHeader: 'Idempotency-Key', key, fingerprint: `fp-${key}` });

it('behind a request that fails by itself, those held after it go in the order held after a pass with the network down', async () => {
  const databaseName = 'order-after-broken-head';
  let t = Date.now() - 10_000;
  const outbox = createOutbox({ databaseName, locks: null, backgroundSync: false, online: () => false, now: () => (t += 1) });
  for (const [key, url] of [
    ['k-broken', 'https://shop.test/legacy/orders'],
    ['k-a', 'https://shop.test/orders'],
    ['k-b', 'https://shop.test/orders'],
    ['k-c', 'https://shop.test/orders'],
  ]) await outbox.hold(held(key!, url!));
  outbox.close();
  let down = true;
  const sent: string[] = [];
  const fetch = async (request: Request) => {
    if (down || request.url.includes('/legacy/')) throw new TypeError('Failed to fetch');
    sent.push(request.headers.get('idempotency-key') ?? '');
    return new Response('{}', { status: 201 });
  };
  await replayOutbox({ databaseName, fetch }).catch(() => undefined);
  down = false;
  await replayOutbox({ databaseName, fetch }).catch(() => undefined);
  expect(sent).toEqual(['k-a', 'k-b', 'k-c']);
});
