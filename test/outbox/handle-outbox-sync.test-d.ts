/** Type tests, checked by `npm run typecheck` (tsc), not run. */
import { expectTypeOf } from 'vitest';
import { handleOutboxSync, type SyncEventLike } from '../../src/sw/index.js';

/**
 * What a service worker's 'sync' listener is given in TypeScript: the DOM and WebWorker
 * libs have no SyncEvent, so `ServiceWorkerGlobalScope.addEventListener('sync', …)` falls
 * back to its `(type: string, listener: EventListener)` overload, a plain `Event`.
 */
declare const sw: { addEventListener(type: string, listener: (event: Event) => void): void };
sw.addEventListener('sync', (event) => handleOutboxSync(event, { beforeReplay: (request) => request }));
// The same with this project's DOM lib: `self.addEventListener('sync', …)` gives an `Event` too.
self.addEventListener('sync', (event) => {
  expectTypeOf(handleOutboxSync(event)).toEqualTypeOf<boolean>();
});

// A hand-made event with the two members used still goes.
declare const synced: SyncEventLike;
handleOutboxSync(synced);
// @ts-expect-error a tag is a string
handleOutboxSync({ tag: 1, waitUntil: () => undefined });
