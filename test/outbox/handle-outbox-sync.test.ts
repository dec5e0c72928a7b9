/**
 * `handleOutboxSync` takes the plain `Event` a TypeScript service worker's 'sync' listener
 * is given (the libs have no SyncEvent) and checks at run time that it is one.
 */
import { IDBFactory } from 'fake-indexeddb';
import { describe, expect, it, vi } from 'vitest';
import { isSubmitOnceError } from '../../src/core/errors.js';
import { handleOutboxSync } from '../../src/sw/index.js';
import { syncTag } from '../../src/outbox/index.js';

describe('handleOutboxSync', () => {
  it('an event without a tag and waitUntil (not a sync event) is a typed error that says so', () => {
    const error = (() => {
      try {
        handleOutboxSync(new Event('message'));
      } catch (caught) {
        return caught;
      }
    })();
    expect(isSubmitOnceError(error, 'invalid-options')).toBe(true);
    expect((error as Error).message).toMatch(/a sync event .*tag.*waitUntil.*got a "message" event/);
  });

  it("a sync event that is not the outbox's is left alone: false, nothing awaited", () => {
    const waited: Promise<unknown>[] = [];
    const event = Object.assign(new Event('sync'), { tag: 'app-sync', waitUntil: (promise: Promise<unknown>) => void waited.push(promise) });
    expect(handleOutboxSync(event)).toBe(false);
    expect(waited).toEqual([]);
  });

  it("the outbox's sync event: waitUntil is called on the event (a SyncEvent's own method throws on any other this)", async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    try {
      const waited: Promise<unknown>[] = [];
      class FakeSyncEvent extends Event {
        readonly tag = syncTag('handle-sync-test');
        waitUntil(promise: Promise<unknown>): void {
          if (!(this instanceof FakeSyncEvent)) throw new TypeError('Illegal invocation');
          waited.push(promise);
        }
      }
      expect(handleOutboxSync(new FakeSyncEvent('sync'))).toBe(true);
      expect(waited).toHaveLength(1);
      await waited[0];
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
