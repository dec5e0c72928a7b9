/**
 * Cross-tab coordination in the claim, with Node's real BroadcastChannel (engines in one
 * process hear each other as tabs do) and a Web Locks stand-in that queues like the real one.
 * Real tabs in Chromium: e2e/cross-tab.spec.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { createSubmitter, type AttemptContext, type SubmitCall } from '../../src/core/submitter.js';
import { memoryStore, type KeyStore } from '../../src/core/store.js';
import { fingerprint } from '../../src/core/fingerprint.js';
import type { LockManagerLike } from '../../src/core/options.js';
import { fakeLocks } from './fake-locks.js';
import { countedSignal } from '../helpers/counted-signal.js';

// One lock manager for the file, as a browser has one per origin: the page's lifetime lock lives in it.
const locks = fakeLocks();
const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'TAB' } };
const wire = {
  encode: (value: { status: number; body: string }) => value,
  decode: (data: unknown) => data as { status: number; body: string },
};
const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

function engines(store: KeyStore, locks: LockManagerLike | null, other: LockManagerLike | null = locks) {
  return [createSubmitter({ store, locks, retry: 1 }), createSubmitter({ store, locks: other, retry: 1 })] as const;
}

describe('two tabs, one intent', () => {
  it('the second waits for the owner and settles with its result: one send', async () => {
    const [first, second] = engines(memoryStore(), locks);
    await tick(); // the tab's lifetime lock is granted
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const keys: string[] = [];
    const call = (): SubmitCall<{ status: number; body: string }> => ({
      intent,
      wire,
      send: async ({ key }: AttemptContext) => {
        keys.push(key);
        await gate;
        return { status: 201, body: `order for ${key}` };
      },
    });
    const owner = first.submit(call());
    await tick();
    const waiter = second.submit(call());
    await tick();
    release();
    const [a, b] = await Promise.all([owner, waiter]);
    expect(keys).toHaveLength(1);
    expect(b).toEqual(a);
    // No lock was requested on the owner's path; the waiter asked for the owner's tab lock only.
    expect(locks.requested.filter((name) => !name.startsWith('submit-once:tab:'))).toEqual([]);
    expect(locks.requested.filter((name) => name.startsWith('submit-once:tab:')).length).toBeLessThanOrEqual(2);
  });

  it('the other tab asks before the owner has seen its own claim commit (its store answers late): it still waits, one send', async () => {
    const shared = memoryStore();
    let commit!: () => void;
    const committed = new Promise<void>((resolve) => (commit = resolve));
    // The owner's claim is in the store (the other tab reads it) before the owner hears so, as
    // when IndexedDB's complete event reaches the owner's page after the other tab's read.
    const late: KeyStore = { ...shared, upsert: async (fp, change) => shared.upsert(fp, change).then(async (value) => (await committed, value)) };
    const first = createSubmitter({ store: late, locks, retry: 1 });
    const second = createSubmitter({ store: shared, locks, retry: 1 });
    await tick();
    const keys: string[] = [];
    const send = async ({ key }: AttemptContext) => {
      keys.push(key);
      return { status: 201, body: `order for ${key}` };
    };
    const owner = first.submit({ intent, wire, send });
    await tick();
    const waiter = second.submit({ intent, wire, send });
    await tick();
    commit();
    const [a, b] = await Promise.all([owner, waiter]);
    expect(keys).toHaveLength(1);
    expect(b).toEqual(a);
  });

  it('control: without coordination the second tab sends too (same key)', async () => {
    const [first, second] = engines(memoryStore(), null);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const keys: string[] = [];
    const send = async ({ key }: AttemptContext) => {
      keys.push(key);
      await gate;
      return { status: 201, body: key };
    };
    const owner = first.submit({ intent, wire, send });
    await tick();
    const waiter = second.submit({ intent, wire, send });
    await tick();
    release();
    await Promise.all([owner, waiter]);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });

  it('a claim whose owner tab is gone (closed, reloaded) is taken over at once with the same key', async () => {
    const store = memoryStore();
    const fp = await fingerprint(intent);
    const now = Date.now();
    await store.upsert(fp, () => ({ v: 1, key: 'key-of-a-closed-tab', fingerprint: fp, createdAt: now, expiresAt: now + 60_000, attempts: 0, state: 'pending', owner: 'closed-tab.1' }));
    const [engine] = engines(store, locks);
    await tick();
    const send = vi.fn(async ({ key }: AttemptContext) => ({ status: 201, body: key }));
    expect(await engine.submit({ intent, wire, send })).toEqual({ status: 201, body: 'key-of-a-closed-tab' });
    expect(send).toHaveBeenCalledOnce();
    expect(locks.requested).toContain('submit-once:tab:closed-tab');
  });

  it("a key a claim decided and then did not write is not kept as this tab's: an ask about it is answered at once", async () => {
    const inner = memoryStore();
    // As the IndexedDB claim may: a decision over nothing first (its blind add), then the one written.
    const store: KeyStore = {
      ...inner,
      upsert: (fp, decide) => {
        decide(undefined);
        return inner.upsert(fp, decide);
      },
    };
    const minted: string[] = [];
    const engine = createSubmitter({ store, locks, retry: 1, createKey: () => `key-${minted.push('x')}` });
    await tick();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const sent: string[] = [];
    const pending = engine.submit({
      intent,
      wire,
      send: async ({ key }: AttemptContext) => {
        sent.push(key);
        await gate;
        return { status: 201, body: key };
      },
    });
    await tick();
    expect(sent).toEqual(['key-2']);
    const [record] = await inner.list();
    const owner = record!.owner!;
    const asker = new BroadcastChannel('submit-once');
    const heard: unknown[] = [];
    asker.onmessage = ({ data }: MessageEvent) => heard.push(data);
    // The first decision's key was never written: its owner has nothing for it.
    asker.postMessage(['ask', 'key-1', owner]);
    await vi.waitFor(() => expect(heard).toContainEqual(['free', 'key-1']), { timeout: 1000 });
    release();
    expect(await pending).toEqual({ status: 201, body: 'key-2' });
    asker.close();
  });

  it('an owner with nothing to share (ambiguous) lets the waiter send, with the same key', async () => {
    const [first, second] = engines(memoryStore(), locks);
    await tick();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const keys: string[] = [];
    const owner = first.submit({
      intent,
      wire,
      send: async ({ key }: AttemptContext) => {
        keys.push(key);
        await gate;
        throw new TypeError('network');
      },
    });
    await tick();
    const waiter = second.submit({
      intent,
      wire,
      send: async ({ key }: AttemptContext) => {
        keys.push(key);
        return { status: 201, body: key };
      },
    });
    await tick();
    expect(keys).toHaveLength(1);
    release();
    await owner.catch(() => undefined);
    expect(await waiter).toEqual({ status: 201, body: keys[0] });
    expect(keys).toEqual([keys[0], keys[0]]);
  });

  it("waits on another tab's attempt leave no listener on a long-lived caller signal", async () => {
    const [first, second] = engines(memoryStore(), locks);
    await tick();
    const caller = countedSignal();
    let sends = 0;
    for (const sku of ['L1', 'L2', 'L3']) {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const call = (): SubmitCall<{ status: number; body: string }> => ({
        intent: { ...intent, body: { sku } },
        wire,
        signal: caller.signal,
        send: async ({ key }: AttemptContext) => {
          sends += 1;
          await gate;
          return { status: 201, body: key };
        },
      });
      const owner = first.submit(call());
      await tick();
      const waiter = second.submit(call());
      await tick();
      release();
      expect(await waiter).toEqual(await owner);
    }
    expect(sends).toBe(3);
    expect(caller.listeners()).toBe(0);
  });
});
