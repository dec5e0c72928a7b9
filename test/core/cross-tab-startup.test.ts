/**
 * A page that submits in its first moments, before the browser has granted its lifetime
 * tab lock (a loaded machine, or a submit at load): its claim must still name it as the
 * owner, or a second tab finds an ownerless claim and sends too. Its own file, so the
 * page identity (module state) is fresh and the lock not yet held.
 */
import { expect, it } from 'vitest';
import { createSubmitter, type AttemptContext, type SubmitCall } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import type { LockManagerLike } from '../../src/core/options.js';
import { fakeLocks } from './fake-locks.js';

/** Grants the tab's lifetime lock late, as a busy browser may. */
function slowTabLocks(delayMs: number): LockManagerLike {
  const inner = fakeLocks();
  return {
    request<T>(name: string, options: { signal?: AbortSignal }, callback: () => Promise<T>): Promise<T> {
      if (!name.startsWith('submit-once:tab:')) return inner.request(name, options, callback);
      return new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(() => inner.request(name, options, callback));
    },
  };
}

it('a claim made before the tab lock is granted still names its owner: the second tab waits, one send', async () => {
  const locks = slowTabLocks(30);
  const store = memoryStore();
  const first = createSubmitter({ store, locks, retry: 1 });
  const second = createSubmitter({ store, locks, retry: 1 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const keys: string[] = [];
  const call = (): SubmitCall<{ status: number; body: string }> => ({
    intent: { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'EARLY' } },
    wire: { encode: (value: { status: number; body: string }) => value, decode: (data: unknown) => data as { status: number; body: string } },
    send: async ({ key }: AttemptContext) => {
      keys.push(key);
      await gate;
      return { status: 201, body: `order for ${key}` };
    },
  });
  // At once, with no pause for the lock: the first claim races the grant.
  const owner = first.submit(call());
  await new Promise((resolve) => setTimeout(resolve, 60));
  const waiter = second.submit(call());
  await new Promise((resolve) => setTimeout(resolve, 20));
  release();
  const [a, b] = await Promise.all([owner, waiter]);
  expect(keys).toHaveLength(1);
  expect(b).toEqual(a);
});
