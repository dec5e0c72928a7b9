/**
 * Which classifier judges a replay's answer. An API whose 409 means "refused, do not retry"
 * (a business conflict) gets a held request replayed until retention runs out when the
 * outbox judges only with the built-in classifier (409: in progress, retried). The rule:
 * while the submission that held it waits in this page, its own `classify` (or the
 * submitter's `inProgressTimeout: 0`) can end the item; otherwise (after a reload, in the
 * service worker) the outbox's `classify` option decides, the built-in one by default.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultClassifier, type Classifier } from '../../src/core/classify.js';
import { memoryStore } from '../../src/core/store.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createOutbox, type Outbox, type OutboxEvent } from '../../src/outbox/index.js';
import type { OutboxOptions } from '../../src/outbox/options.js';
import { replayOutbox } from '../../src/sw/index.js';
import { SubmissionObserver } from '../../src/ui/submission-observer.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

let counter = 0;
let server: TestServer;
let outboxes: Outbox[] = [];
let events: OutboxEvent[] = [];
let online = true;

beforeEach(async () => {
  vi.stubGlobal('indexedDB', new IDBFactory());
  server = await startTestServer();
  events = [];
  online = true;
});
afterEach(async () => {
  for (const outbox of outboxes) outbox.close();
  outboxes = [];
  vi.unstubAllGlobals();
  await server.close();
});

function outboxWith(options: OutboxOptions = {}): Outbox {
  const outbox = createOutbox({ databaseName: `classify-${++counter}`, locks: null, online: () => online, backgroundSync: false, onEvent: (event) => events.push(event), ...options });
  outboxes.push(outbox);
  return outbox;
}

const held = (key: string) => ({ method: 'POST', url: `${server.url}/orders`, headers: [['idempotency-key', key]] as [string, string][], body: 'x', keyHeader: 'Idempotency-Key', key, fingerprint: `fp-${key}` });

/** An API's rule: 409 is a refusal, final; the rest as ours. */
const conflictIsFinal: Classifier<Response> = (result, now) =>
  result.ok && result.value.status === 409 ? { kind: 'final', status: 409 } : defaultClassifier(result, now);

const conflict = { status: 409, headers: { 'content-type': 'application/json' }, body: '{"error":"already booked"}' };

const within = <T>(promise: Promise<T>, ms = 300) => Promise.race([promise, new Promise<'still waiting'>((resolve) => setTimeout(resolve, ms, 'still waiting'))]);

describe("the outbox's classify option", () => {
  it('an answer it calls final ends the item at once: the waiting promise gets it, nothing is replayed again', async () => {
    online = false;
    const outbox = outboxWith({ classify: conflictIsFinal });
    const { answer } = await outbox.hold(held('k-1'));
    server.fallback = conflict;
    online = true;
    await outbox.flush();
    const response = await within(answer);
    expect(response).toBeInstanceOf(Response);
    expect([(response as Response).status, await (response as Response).json()]).toEqual([409, { error: 'already booked' }]);
    expect(await outbox.list()).toEqual([]);
    expect(events.map((e) => e.type)).toEqual(['queued', 'replayed']);
    await outbox.flush();
    expect(server.seen).toHaveLength(1);
  });

  it('without it, the built-in classifier keeps a 409 (in progress) for a later replay', async () => {
    online = false;
    const outbox = outboxWith();
    await outbox.hold(held('k-2'));
    server.fallback = conflict;
    online = true;
    await outbox.flush();
    expect((await outbox.list()).map((item) => item.id)).toEqual(['k-2']);
    expect(events.map((e) => e.type)).toEqual(['queued', 'deferred']);
  });

  it('an ambiguous verdict with a Retry-After paces the next replay; a classifier that throws takes the answer as final (as the submitter does)', async () => {
    let now = 1_000_000;
    online = false;
    const outbox = outboxWith({ now: () => now, classify: () => ({ kind: 'ambiguous', status: 418, retryAfterMs: 60_000 }) });
    await outbox.hold(held('k-3'));
    online = true;
    await outbox.flush();
    expect((await outbox.list())[0]).toMatchObject({ id: 'k-3', nextAttemptAt: now + 60_000 });
    outboxes.pop()!.close();
    now += 1;
    const again = outboxWith({ now: () => now, classify: () => {
      throw new Error('classifier bug');
    } });
    await again.flush();
    expect(await again.list()).toEqual([]);
  });

  it("the service worker's replayOutbox takes the same option: the 409 is recorded as the answer, nothing still waits", async () => {
    const databaseName = `classify-sw-${++counter}`;
    online = false;
    const outbox = createOutbox({ databaseName, locks: null, online: () => false, backgroundSync: false });
    await outbox.hold(held('k-4'));
    outbox.close();
    server.fallback = conflict;
    await expect(replayOutbox({ databaseName, classify: conflictIsFinal })).resolves.toBeUndefined();
    const page = createOutbox({ databaseName, locks: null, online: () => false, backgroundSync: false, onEvent: (event) => events.push(event) });
    outboxes.push(page);
    await vi.waitFor(() => expect(events.filter((event) => event.item.id === 'k-4')).toMatchObject([{ type: 'replayed', status: 409 }]));
    expect(server.seen).toHaveLength(1);
  });
});

describe("the submission's own rule, while it waits in this page", () => {
  const engine = (outbox: Outbox) => ({ store: memoryStore(), locks: null, retry: { attempts: 2, baseDelay: 1, maxDelay: 2 }, outbox });

  it("its classify calls the replay's 409 final: it settles with that answer, once, and the item ends (the outbox has no classify)", async () => {
    const outbox = outboxWith();
    const submitter = createSubmitter(engine(outbox));
    online = false;
    const pending = submitter.submit<Response>({
      intent: { method: 'POST', url: `${server.url}/orders`, body: 'x' },
      send: ({ key }) => fetch(`${server.url}/orders`, { method: 'POST', headers: { 'idempotency-key': key }, body: 'x' }),
      classify: conflictIsFinal,
      queue: true,
      held: { request: (key) => ({ method: 'POST', url: `${server.url}/orders`, headers: [['idempotency-key', key]], body: 'x', keyHeader: 'Idempotency-Key' }), receive: (answer) => answer },
    });
    await vi.waitFor(async () => expect(await outbox.list()).toHaveLength(1));
    server.fallback = conflict;
    online = true;
    await outbox.flush();
    const response = await within(pending);
    expect(response).toBeInstanceOf(Response);
    expect((response as Response).status).toBe(409);
    expect(await outbox.list()).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });

  it('fetch with inProgressTimeout: 0 (409 is a business conflict): a 409 is handed back at once, not held', async () => {
    const outbox = outboxWith();
    server.fallback = conflict;
    const api = createIdempotentFetch({ ...engine(outbox), inProgressTimeout: 0, queue: true });
    const response = await within(api(`${server.url}/orders`, { method: 'POST', body: 'x' }));
    expect(response).toBeInstanceOf(Response);
    expect((response as Response).status).toBe(409);
    expect(await outbox.list()).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });

  it('fetch with inProgressTimeout: 0, held offline: the replay in this page gets 409, handed back, the item ends', async () => {
    const outbox = outboxWith();
    const api = createIdempotentFetch({ ...engine(outbox), inProgressTimeout: 0, queue: true });
    online = false;
    const pending = api(`${server.url}/orders`, { method: 'POST', body: 'x' });
    await vi.waitFor(async () => expect(await outbox.list()).toHaveLength(1));
    server.fallback = conflict;
    online = true;
    await outbox.flush();
    const response = await within(pending);
    expect((response as Response).status).toBe(409);
    expect(await outbox.list()).toEqual([]);
    expect(server.seen).toHaveLength(1);
  });

  it("a hook's receive that throws on a 503 does not end the item: the submission's rule can only end one sooner", async () => {
    const outbox = outboxWith();
    online = false;
    const observer = new SubmissionObserver<void, string>(async () => 'sent', {
      ...engine(outbox),
      queue: true,
      intent: 'book',
      held: {
        request: () => ({ method: 'POST', url: `${server.url}/orders`, body: 'x' }),
        receive: async (answer) => {
          if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
          return answer.text();
        },
      },
    });
    const pending = observer.submit();
    await vi.waitFor(async () => expect(await outbox.list()).toHaveLength(1));
    server.fallback = { status: 503 };
    online = true;
    await outbox.flush();
    expect(await within(pending, 100)).toBe('still waiting');
    expect(await outbox.list()).toHaveLength(1);
    server.fallback = { status: 201, body: 'booked' };
    await outbox.flush();
    expect(await within(pending)).toBe('booked');
  });
});
