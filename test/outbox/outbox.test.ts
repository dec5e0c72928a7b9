/**
 * The outbox over IndexedDB (fake-indexeddb in Node) and a real HTTP server: what it
 * keeps, when it gives a request up, and what a replay's answer does to the item. The
 * browser behaviour (offline, reload, tabs, service worker) is in e2e/outbox*.spec.ts.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isSubmitOnceError } from '../../src/core/errors.js';
import { InvalidOptionsError } from '../../src/core/errors.js';
import { createOutbox, OutboxFullError, OutboxGaveUpError, OutboxUnavailableError, type Outbox, type OutboxEvent } from '../../src/outbox/index.js';
import type { OutboxOptions } from '../../src/outbox/options.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { countedSignal } from '../helpers/counted-signal.js';

let counter = 0;
let server: TestServer;
let outboxes: Outbox[] = [];
let events: OutboxEvent[] = [];

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
  events = [];
});
afterEach(async () => {
  for (const outbox of outboxes) outbox.close();
  outboxes = [];
  vi.unstubAllGlobals();
  await server.close();
});

function outboxWith(options: OutboxOptions = {}): Outbox {
  const outbox = createOutbox({ databaseName: `outbox-test-${++counter}`, locks: null, onEvent: (event) => events.push(event), ...options });
  outboxes.push(outbox);
  return outbox;
}

const held = (key: string, body = '{"sku":"A-1"}') => ({
  method: 'POST',
  url: `${server.url}/orders`,
  headers: [
    ['content-type', 'application/json'],
    ['idempotency-key', key],
    ['authorization', 'Bearer secret'],
    ['cookie', 'session=1'],
    ['x-trace', 't-1'],
  ] as [string, string][],
  body,
  keyHeader: 'Idempotency-Key',
  key,
  fingerprint: `fp-${key}`,
});

describe('createOutbox', () => {
  it('replays a held request with its key and allow-listed headers only; its answer settles the holder and ends the item', async () => {
    const outbox = outboxWith();
    const { answer } = await outbox.hold(held('k-1'));
    await outbox.flush();
    const response = await answer;
    expect(response.status).toBe(201);
    expect(server.seen.map((r) => [r.key, r.body])).toEqual([['k-1', '{"sku":"A-1"}']]);
    expect(await outbox.list()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['queued', 'replayed']);
  });

  it('re-applies credentials only through beforeReplay', async () => {
    const seen: (string | null)[] = [];
    const outbox = outboxWith({
      fetch: (request) => {
        seen.push(request.headers.get('authorization'), request.headers.get('cookie'), request.headers.get('x-trace'));
        return fetch(request);
      },
      beforeReplay: (request) => {
        const headers = new Headers(request.headers);
        headers.set('authorization', 'Bearer fresh');
        return new Request(request, { headers });
      },
    });
    await outbox.hold(held('k-2'));
    await outbox.flush();
    expect(seen).toEqual(['Bearer fresh', null, null]);
  });

  it('refuses to allow-list credentials', () => {
    expect(() => createOutbox({ headers: ['x-trace', 'Authorization'] })).toThrow(InvalidOptionsError);
    expect(() => createOutbox({ headers: ['cookie'] })).toThrow(InvalidOptionsError);
  });

  it('keeps the item on a 5xx (deferred with backoff, never dropped) and on a network error', async () => {
    server.replies = [{ status: 500 }];
    server.fallback = { status: 503 };
    const outbox = outboxWith({ backoff: { baseDelay: 60_000, maxDelay: 60_000 } });
    const { answer } = await outbox.hold(held('k-3'));
    await outbox.flush();
    await outbox.flush();
    const [item] = await outbox.list();
    expect(item).toMatchObject({ id: 'k-3', state: 'queued' });
    expect(item!.attempts).toBe(server.seen.length);
    expect(server.seen.length).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.type === 'deferred').map((e) => (e as { status?: number }).status)).toEqual([500, ...Array<number>(server.seen.length - 1).fill(503)]);
    // Still waiting: a 5xx is no answer.
    expect(await Promise.race([answer.then(() => 'answered'), new Promise((resolve) => setTimeout(resolve, 20, 'waiting'))])).toBe('waiting');

    const dead = outboxWith({ fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
    await dead.hold(held('k-4'));
    await dead.flush();
    expect(await dead.list()).toMatchObject([{ id: 'k-4', state: 'queued', attempts: 1 }]);
  });

  it('ends the item on a final 4xx, with the answer handed to the holder', async () => {
    server.replies = [{ status: 400, body: 'bad cart' }];
    const outbox = outboxWith();
    const { answer } = await outbox.hold(held('k-5'));
    await outbox.flush();
    const response = await answer;
    expect([response.status, await response.text()]).toEqual([400, 'bad cart']);
    expect(await outbox.list()).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'replayed', status: 400 });
  });

  it('holds one item per key', async () => {
    const outbox = outboxWith();
    await outbox.hold(held('k-6'));
    await outbox.hold(held('k-6'));
    expect((await outbox.list()).map((i) => i.id)).toEqual(['k-6']);
    expect(events.map((e) => e.type)).toEqual(['queued']);
  });

  it('is bounded by items and bytes: one more is an OutboxFullError and nothing is kept', async () => {
    const byCount = outboxWith({ maxItems: 1 });
    await byCount.hold(held('k-7'));
    await expect(byCount.hold(held('k-8'))).rejects.toMatchObject({ name: 'OutboxFullError', code: 'outbox-full', reason: 'items' });
    expect((await byCount.list()).map((i) => i.id)).toEqual(['k-7']);

    const byBytes = outboxWith({ maxBytes: 20 });
    const error = await byBytes.hold(held('k-9', 'x'.repeat(21))).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboxFullError);
    expect(isSubmitOnceError(error, 'outbox-full')).toBe(true);
    expect(await byBytes.list()).toEqual([]);
  });

  it('gives a request up past its retention, unsent, and tells the holder', async () => {
    let now = 1_000;
    const outbox = outboxWith({ retention: 500, now: () => now });
    const { answer } = await outbox.hold(held('k-10'));
    now = 1_500;
    await outbox.flush();
    await expect(answer).rejects.toMatchObject({ name: 'OutboxGaveUpError', reason: 'expired' });
    expect(server.seen).toEqual([]);
    expect(await outbox.list()).toEqual([]);
    expect(events.at(-1)).toMatchObject({ type: 'given-up', reason: 'expired' });
  });

  it('cancel() removes a queued request and rejects its holder', async () => {
    const outbox = outboxWith({ online: () => false });
    const { id, answer } = await outbox.hold(held('k-11'));
    expect(await outbox.cancel(id)).toBe(true);
    await expect(answer).rejects.toBeInstanceOf(OutboxGaveUpError);
    expect(await outbox.cancel(id)).toBe(false);
    expect(await outbox.list()).toEqual([]);
  });

  it('an aborted holder stops waiting; the request stays held', async () => {
    const outbox = outboxWith({ online: () => false });
    const controller = new AbortController();
    const { answer } = await outbox.hold(held('k-14'), controller.signal);
    controller.abort();
    await expect(answer).rejects.toMatchObject({ name: 'AbortError', code: 'aborted' });
    expect((await outbox.list()).map((i) => i.id)).toEqual(['k-14']);
  });

  it("holders answered leave no listener on a long-lived caller signal", async () => {
    const outbox = outboxWith();
    const caller = countedSignal();
    const answers: Promise<Response>[] = [];
    for (const key of ['k-15', 'k-16', 'k-17']) answers.push((await outbox.hold(held(key), caller.signal)).answer);
    await outbox.flush();
    expect((await Promise.all(answers)).map((response) => response.status)).toEqual([201, 201, 201]);
    expect(caller.listeners()).toBe(0);
  });

  it('offline, flush() sends nothing (no attempt burned)', async () => {
    const outbox = outboxWith({ online: () => false });
    await outbox.hold(held('k-12'));
    await outbox.flush();
    expect(server.seen).toEqual([]);
    expect(await outbox.list()).toMatchObject([{ attempts: 0 }]);
  });

  it('without IndexedDB, holding fails at once with OutboxUnavailableError', async () => {
    vi.stubGlobal('indexedDB', undefined);
    const outbox = outboxWith();
    await expect(outbox.hold(held('k-13'))).rejects.toBeInstanceOf(OutboxUnavailableError);
    expect(await outbox.list()).toEqual([]);
  });
});
