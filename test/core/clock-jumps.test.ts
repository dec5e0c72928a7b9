/**
 * The page's wall clock is not monotonic: the user, NTP or a resumed VM can set it back.
 * A settled key is reused only inside the settle window after its answer; a clock set back
 * must not stretch that window to the size of the jump, or a deliberate second identical
 * order placed meanwhile is answered with the first (never sent, or replayed by the server).
 */
import { describe, expect, it, vi } from 'vitest';
import { createSubmitter, type AttemptContext } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import { fingerprint } from '../../src/core/fingerprint.js';

const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A', qty: 1 } };
const HOUR = 60 * 60 * 1000;

function orders() {
  const keys: string[] = [];
  const send = vi.fn(async ({ key }: AttemptContext) => {
    keys.push(key);
    return new Response(`{"order":${keys.length}}`, { status: 201 });
  });
  return { send, keys };
}

describe('clock set back after an answer', () => {
  it('sends a second identical order placed after the settle window, with a new key', async () => {
    let now = 1_800_000_000_000;
    const submitter = createSubmitter({ store: memoryStore(), locks: null, now: () => now });
    const { send, keys } = orders();
    await submitter.submit({ intent, send });
    await submitter.idle();
    // The clock goes back an hour; a minute later the user orders the same cart again.
    now += -HOUR + 60_000;
    const second = await submitter.submit({ intent, send });
    expect(send).toHaveBeenCalledTimes(2);
    expect(keys[1]).not.toBe(keys[0]);
    expect(await second.json()).toEqual({ order: 2 });
  });

  it('does not reuse the settled key a reloaded page finds in the store', async () => {
    let now = 1_800_000_000_000;
    const store = memoryStore();
    const first = createSubmitter({ store, locks: null, now: () => now });
    const { send, keys } = orders();
    await first.submit({ intent, send });
    await first.idle();
    expect((await store.get(await fingerprint(intent)))?.state).toBe('settled');
    now += -HOUR + 60_000;
    const reloaded = createSubmitter({ store, locks: null, now: () => now });
    expect(await reloaded.peek(intent)).toBeUndefined();
    await reloaded.submit({ intent, send });
    expect(keys[1]).not.toBe(keys[0]);
  });

  it('still answers a double-click when the clock stepped back less than the window', async () => {
    let now = 1_800_000_000_000;
    const store = memoryStore();
    const submitter = createSubmitter({ store, locks: null, now: () => now });
    const { send } = orders();
    const first = await submitter.submit({ intent, send });
    now -= 300;
    expect(await submitter.submit({ intent, send })).toBe(first);
    expect(send).toHaveBeenCalledOnce();
    // A reload finds the settled key and reuses it: the server replays.
    await submitter.idle();
    const reloaded = createSubmitter({ store, locks: null, now: () => now });
    expect(await reloaded.peek(intent)).toBeDefined();
  });
});

describe('clock set back between sweeps', () => {
  it('still sweeps retired keys once a minute has passed, not once the clock has caught up', async () => {
    let now = 1_800_000_000_000;
    const store = memoryStore();
    const submitter = createSubmitter({ store, locks: null, now: () => now });
    const { send } = orders();
    await submitter.submit({ intent, send });
    await submitter.idle();
    now += -HOUR + 2 * 60_000;
    await submitter.submit({ intent: { ...intent, body: { sku: 'B', qty: 1 } }, send });
    await submitter.idle();
    // Cart A's settled record, out of its window, is swept by the flush after cart B.
    expect((await store.list()).map((r) => r.fingerprint)).toEqual([await fingerprint({ ...intent, body: { sku: 'B', qty: 1 } })]);
  });
});
