/**
 * Degrading to memory mid-page (a quota error, a slow transaction past storageTimeout, the
 * site's data cleared under the page) must not forget the keys this page already holds: an
 * intent it left ambiguous is retried with the same key, or an effect that did happen runs
 * again under a new one.
 */
import { describe, expect, it } from 'vitest';
import { createSubmitter, type AttemptContext } from '../../src/core/submitter.js';
import { memoryStore, type KeyStore } from '../../src/core/store.js';
import { fingerprint } from '../../src/core/fingerprint.js';
import type { SubmitEvent } from '../../src/core/events.js';

const cartA = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A', qty: 1 } };
const cartB = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'B', qty: 1 } };

describe('a store that starts failing mid-page', () => {
  it('retries an intent left ambiguous before the failure with its key', async () => {
    const inner = memoryStore();
    const quota = await fingerprint(cartB);
    // Writes fail once the origin's quota is full; here, from cart B's claim on.
    let full = false;
    const primary: KeyStore = {
      ...inner,
      upsert: (fp, decide) => {
        if (fp === quota) full = true;
        return full ? Promise.reject(new DOMException('quota', 'QuotaExceededError')) : inner.upsert(fp, decide);
      },
      batch: (decisions) => (full ? Promise.reject(new DOMException('quota', 'QuotaExceededError')) : inner.batch(decisions)),
    };
    const events: SubmitEvent[] = [];
    const submitter = createSubmitter({ store: primary, locks: null, retry: false, onEvent: (e) => events.push(e) });
    const sent: Array<[string, string]> = [];
    const send = (sku: string, status: number) => async ({ key }: AttemptContext) => {
      sent.push([sku, key]);
      return new Response(null, { status });
    };
    // Cart A: the server's 503 leaves it ambiguous; the key is kept (in the store).
    expect((await submitter.submit({ intent: cartA, send: send('A', 503) })).status).toBe(503);
    await submitter.idle();
    // Cart B's claim meets the quota: the page carries on in memory.
    expect((await submitter.submit({ intent: cartB, send: send('B', 201) })).status).toBe(201);
    expect(events.filter((e) => e.type === 'storage-degraded')).toHaveLength(1);
    // The user retries cart A.
    await submitter.submit({ intent: cartA, send: send('A', 201) });
    const keysOfA = sent.filter(([sku]) => sku === 'A').map(([, key]) => key);
    expect(keysOfA).toHaveLength(2);
    expect(keysOfA[1]).toBe(keysOfA[0]);
  });
});

describe('a claim that timed out, decided late by the primary', () => {
  it('does not replace the key memory sent with the late decision', async () => {
    const inner = memoryStore();
    const late: Array<() => void> = [];
    let slow = true;
    // The first claim's transaction runs only after the storage timeout (a slow open).
    const primary: KeyStore = {
      ...inner,
      upsert: (fp, decide) => {
        if (!slow) return inner.upsert(fp, decide);
        slow = false;
        return new Promise((resolve) => late.push(() => void inner.upsert(fp, decide).then(resolve)));
      },
    };
    const submitter = createSubmitter({ store: primary, locks: null, retry: false, storageTimeout: 20 });
    const keys: string[] = [];
    const send = (status: number) => async ({ key }: AttemptContext) => {
      keys.push(key);
      return new Response(null, { status });
    };
    expect((await submitter.submit({ intent: cartA, send: send(503) })).status).toBe(503);
    late.forEach((run) => run());
    await submitter.idle();
    await submitter.submit({ intent: cartA, send: send(201) });
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });
});

describe('a claim the primary completes after another operation degraded the store', () => {
  it('keeps the key that claim sent, so the retry reuses it', async () => {
    const inner = memoryStore();
    const queue: Array<() => void> = [];
    let hold = false;
    // Transactions run one after another, as IndexedDB's readwrite ones do: a slow one (a
    // settle write, a sweep) holds up the claim behind it past the first one's timeout.
    const later = <T>(run: () => Promise<T>): Promise<T> => (hold ? new Promise<T>((resolve) => queue.push(() => void run().then(resolve))) : run());
    const primary: KeyStore = {
      get: (fp) => later(() => inner.get(fp)),
      upsert: (fp, decide) => later(() => inner.upsert(fp, decide)),
      batch: (decisions) => later(() => inner.batch(decisions)),
      list: () => later(() => inner.list()),
    };
    const events: SubmitEvent[] = [];
    const submitter = createSubmitter({ store: primary, locks: null, retry: false, storageTimeout: 50, onEvent: (e) => events.push(e) });
    const keys: string[] = [];
    const send = (status: number) => async ({ key }: AttemptContext) => {
      keys.push(key);
      return new Response(null, { status });
    };
    hold = true;
    // A slow operation first (here a read), then the claim queued behind it.
    const slow = submitter.peek(cartB);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const first = submitter.submit({ intent: cartA, send: send(503) });
    // t=50: the read times out, the store degrades; the queue then drains: the claim completes
    // on the primary, inside its own deadline, and its key is sent.
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(events.filter((e) => e.type === 'storage-degraded')).toHaveLength(1);
    hold = false;
    queue.splice(0).forEach((run) => run());
    await slow;
    expect((await first).status).toBe(503);
    await submitter.idle();
    // The 503 left the intent ambiguous: the user's retry must go with the same key.
    await submitter.submit({ intent: cartA, send: send(201) });
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });
});
