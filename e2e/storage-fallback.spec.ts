/**
 * Storage must never block or drop a submission: when IndexedDB fails in the browser the
 * SDK carries on in memory, says so with a `storage-degraded` event, and still keeps one
 * key across its retries.
 */
import type { Page } from '@playwright/test';
import { expect, test, UUID_V4 } from './support/test.js';

/** Ways IndexedDB is unusable in real browsers, simulated before any page script runs. */
interface Breakage {
  apply: (page: Page) => Promise<unknown>;
  /** The degrade event must name this failure, not a storage timeout that hides it. */
  error: RegExp;
}

const BREAKAGES: Record<string, Breakage> = {
  // Firefox private windows used to fail every open this way; a blocked or corrupt database does too.
  'open fires an error': {
    error: /simulated: IndexedDB is unavailable/,
    apply: (page) =>
      page.addInitScript(() => {
        IDBFactory.prototype.open = function open(): IDBOpenDBRequest {
          const request = new EventTarget() as IDBOpenDBRequest;
          const error = new DOMException('simulated: IndexedDB is unavailable', 'InvalidStateError');
          Object.defineProperty(request, 'error', { get: () => error });
          Object.defineProperty(request, 'result', {
            get: () => {
              throw new DOMException('no result after an error', 'InvalidStateError');
            },
          });
          setTimeout(() => {
            const event = new Event('error');
            request.onerror?.call(request, event);
            request.dispatchEvent(event);
          }, 0);
          return request;
        };
      }),
  },
  // Some embedded web views and hardened browsers have no IndexedDB at all.
  'indexedDB is missing': {
    error: /IndexedDB/,
    apply: (page) =>
      page.addInitScript(() => {
        Object.defineProperty(window, 'indexedDB', { value: undefined, configurable: true });
      }),
  },
};

for (const [name, breakage] of Object.entries(BREAKAGES)) {
  test(`when ${name}, the submission goes out from memory with one key`, async ({ page, orders }) => {
    await breakage.apply(page);
    await orders.plan([{ kind: 'status', status: 503 }]);
    await page.goto(orders.page());

    const { outcome, events } = await page.evaluate(async (path) => {
      window.so.setup({ retry: { attempts: 3, baseDelay: 10, maxDelay: 20 } });
      const outcome = await window.so.submit(path, { sku: 'E-1', qty: 1 });
      await window.so.idle();
      return { outcome, events: window.so.events() };
    }, orders.path);

    const log = await orders.log();
    expect(log.map((r) => r.action)).toEqual(['status', 'ok']);
    const key = log[0]?.key;
    expect(key).toMatch(UUID_V4);
    expect(log[1]?.key).toBe(key);
    expect(outcome).toEqual({ ok: true, status: 201, body: { orderId: 2, key, lane: orders.lane } });

    const degraded = events.filter((e) => e.type === 'storage-degraded');
    expect(degraded).toHaveLength(1);
    expect(degraded[0]?.error).toMatch(breakage.error);
    // Degrading comes before the first attempt: the write-ahead of the key found the failure.
    expect(events.findIndex((e) => e.type === 'storage-degraded')).toBeLessThan(events.findIndex((e) => e.type === 'attempt'));
  });
}
