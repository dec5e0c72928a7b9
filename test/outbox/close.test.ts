/**
 * `outbox.close()` stops the page listening (online, other tabs, timers): a submission
 * still waiting for its held request's answer would then never hear it. It stops waiting
 * (as an abort does); the request stays held for the next page or the service worker.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { createOutbox } from '../../src/outbox/index.js';

beforeEach(() => void vi.stubGlobal('indexedDB', new IDBFactory()));
afterEach(() => void vi.unstubAllGlobals());

it('close() ends the waits of the submissions it holds with SubmissionAbortedError; the requests stay held', async () => {
  const outbox = createOutbox({ databaseName: 'close', locks: null, online: () => false });
  const held = (key: string) => ({ method: 'POST', url: 'https://shop.test/orders', headers: [['idempotency-key', key]] as [string, string][], body: 'x', keyHeader: 'Idempotency-Key', key, fingerprint: `fp-${key}` });
  const answers = [(await outbox.hold(held('k-1'))).answer, (await outbox.hold(held('k-2'))).answer];
  outbox.close();
  const settled = await Promise.race([Promise.allSettled(answers), new Promise((resolve) => setTimeout(resolve, 100, 'still waiting'))]);
  expect(settled).toMatchObject([
    { status: 'rejected', reason: { name: 'AbortError', code: 'aborted', key: 'k-1' } },
    { status: 'rejected', reason: { name: 'AbortError', code: 'aborted', key: 'k-2' } },
  ]);
  const again = createOutbox({ databaseName: 'close', locks: null, online: () => false });
  expect((await again.list()).map((item) => item.id)).toEqual(['k-1', 'k-2']);
  again.close();
});

it('a request held after close() is kept, and its wait ends at once rather than never', async () => {
  const outbox = createOutbox({ databaseName: 'close-2', locks: null, online: () => false });
  outbox.close();
  const { answer } = await outbox.hold({ method: 'POST', url: 'https://shop.test/orders', headers: [], body: 'x', keyHeader: 'Idempotency-Key', key: 'k-3', fingerprint: 'fp-3' });
  const settled = await Promise.race([answer.then(() => 'answered', (error: unknown) => error), new Promise((resolve) => setTimeout(resolve, 100, 'still waiting'))]);
  expect(settled).toMatchObject({ name: 'AbortError', key: 'k-3' });
  expect((await outbox.list()).map((item) => item.id)).toEqual(['k-3']);
});
