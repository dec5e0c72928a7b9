/**
 * A body the outbox cannot read when it holds the request (a picked File changed or removed
 * on disk since: NotReadableError) is a typed InvalidRequestError naming why, not the
 * browser's bare DOMException, and nothing is held.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import { isSubmitOnceError } from '../../src/core/errors.js';
import { createOutbox } from '../../src/outbox/index.js';

beforeEach(() => void vi.stubGlobal('indexedDB', new IDBFactory()));
afterEach(() => void vi.unstubAllGlobals());

/** A Blob whose bytes can no longer be read, as a File picked before it changed on disk. */
class UnreadableFile extends Blob {
  override stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    return new ReadableStream({ pull: (controller) => controller.error(new DOMException('The file could not be read', 'NotReadableError')) });
  }
}

it('an unreadable body: InvalidRequestError with the read error as its cause; nothing held', async () => {
  const outbox = createOutbox({ databaseName: 'unreadable', locks: null, online: () => false });
  const error = await outbox
    .hold({ method: 'POST', url: 'https://shop.test/photos', headers: [], body: new UnreadableFile(['jpeg']), keyHeader: 'Idempotency-Key', key: 'k-u', fingerprint: 'fp-u' })
    .catch((caught: unknown) => caught);
  expect(isSubmitOnceError(error, 'invalid-request')).toBe(true);
  expect((error as Error).cause).toMatchObject({ name: 'NotReadableError' });
  expect(await outbox.list()).toEqual([]);
  outbox.close();
});
