/**
 * Settles a page left behind (localStorage, on pagehide) belong to the store of the engine
 * that made them. Another engine on the next page, with a store of its own (a memory
 * store, another database), must not drop them before theirs applies them: the key then
 * stays pending and the same cart ordered again goes out under it (the server replays the
 * first order instead of placing the second).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSubmitter, type AttemptContext } from '../../src/core/submitter.js';
import { memoryStore, type KeyStore } from '../../src/core/store.js';

const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A', qty: 1 } };

afterEach(() => vi.unstubAllGlobals());

describe('left-behind settles and an engine with another store', () => {
  it('reach the store of the engine that left them', async () => {
    const items = new Map<string, string>();
    const pagehide: Array<() => void> = [];
    vi.stubGlobal('localStorage', {
      getItem: (k: string) => items.get(k) ?? null,
      setItem: (k: string, v: string) => void items.set(k, v),
      removeItem: (k: string) => void items.delete(k),
    });
    vi.stubGlobal('addEventListener', (type: string, fn: () => void) => type === 'pagehide' && pagehide.push(fn));
    let clock = 1_000_000;
    const shared = memoryStore();
    // The first page's store: its writes die with the page, as IndexedDB's do.
    let gone = false;
    const firstPage: KeyStore = {
      get: (fp) => shared.get(fp),
      upsert: (fp, decide) => (gone ? Promise.resolve(undefined) : shared.upsert(fp, decide)),
      batch: (decisions) => (gone ? Promise.resolve() : shared.batch(decisions)),
      list: () => shared.list(),
    } as KeyStore;
    const sent: string[] = [];
    const send = async (attempt: AttemptContext) => {
      sent.push(attempt.key);
      return new Response('{}', { status: 201 });
    };
    const common = { locks: null, now: () => clock, settleWindow: 10 } as const;
    await createSubmitter({ ...common, store: firstPage }).submit({ intent, send });
    for (const leave of pagehide) leave();
    gone = true;
    clock += 1000;
    // The next page: an engine of its own store first (a widget's, SSR's memory), then the app's.
    const other = createSubmitter({ ...common, store: memoryStore() });
    await other.idle();
    const app = createSubmitter({ ...common, store: shared });
    await app.idle();
    await app.submit({ intent, send });
    expect(new Set(sent).size).toBe(2);
  });
});
