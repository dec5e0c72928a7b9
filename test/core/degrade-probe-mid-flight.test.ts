/**
 * s39 recheck: the write-through racing a submission. A claim made in memory while
 * degraded, whose answer comes after the page went back to the primary: its settle must
 * reach the primary (else the key stays pending there for its TTL and the same cart ordered
 * again is replayed the first order). Passes on 6944cc2: no clash found, kept as a guard.
 */
import { expect, it } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore, type KeyStore } from '../../src/core/store.js';

it('a claim made in memory and settled after the page went back to the primary is settled there', async () => {
  const disk = memoryStore();
  let failing = true;
  const gate = <T>(op: () => Promise<T>) => (failing ? Promise.reject(new Error('quota')) : op());
  const primary: KeyStore = {
    get: (fp) => gate(() => disk.get(fp)),
    upsert: (fp, decide) => gate(() => disk.upsert(fp, decide)),
    batch: (decisions) => gate(() => disk.batch(decisions)),
    list: () => gate(() => disk.list()),
  };
  let origin = 0;
  const submitter = createSubmitter({ store: primary, locks: null, retry: false, storageTimeout: 50 });
  const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'M' } };
  let answer!: () => void;
  const placed = submitter.submit({
    intent,
    send: async () => {
      origin += 1;
      // The primary answers again while the request is on the wire; a late operation of another intent sees it.
      failing = false;
      await submitter.peek({ ...intent, body: { sku: 'other' } });
      await new Promise<void>((resolve) => (answer = resolve));
      return new Response(null, { status: 201 });
    },
  });
  // The probe (at most PROBE_INTERVAL) is what brings the page back; wait for the pending record on disk.
  const fp = await fingerprint(intent);
  for (let i = 0; i < 120 && (await disk.get(fp))?.state !== 'pending'; i += 1) await new Promise((r) => setTimeout(r, 50));
  expect((await disk.get(fp))?.state).toBe('pending');
  answer();
  await placed;
  await submitter.idle();
  expect((await disk.get(fp))?.state).toBe('settled');
  expect(origin).toBe(1);
}, 10_000);
