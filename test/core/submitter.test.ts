import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSubmitter, type AttemptContext } from '../../src/core/submitter.js';
import { memoryStore, type KeyRecord, type KeyStore } from '../../src/core/store.js';
import type { SubmitEvent } from '../../src/core/events.js';
import {
  InvalidRequestError,
  AmbiguousOutcomeError,
  InvalidKeyError,
  InvalidOptionsError,
  KeyReusedError,
  SubmissionAbortedError,
  isSubmitOnceError,
} from '../../src/core/errors.js';
import { fingerprint } from '../../src/core/fingerprint.js';

const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A', qty: 1 } };

function response(status: number, headers: Record<string, string> = {}, body = '{}'): Response {
  return new Response(status === 204 ? null : body, { status, headers });
}

/** A scripted `send`: each call returns the next outcome and records the key it was given. */
function scripted(outcomes: Array<number | Error | Response>) {
  const calls: AttemptContext[] = [];
  const send = vi.fn(async (ctx: AttemptContext) => {
    calls.push(ctx);
    const next = outcomes.shift() ?? 201;
    if (next instanceof Error) throw next;
    return typeof next === 'number' ? response(next) : next;
  });
  return { send, calls };
}

function setup(options: Parameters<typeof createSubmitter>[0] = {}) {
  const events: SubmitEvent[] = [];
  const store = options.store ?? memoryStore();
  const submitter = createSubmitter({
    store,
    locks: null,
    random: () => 0,
    retry: { attempts: 4, baseDelay: 1, maxDelay: 5 },
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { submitter, store, events };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('createSubmitter: single-flight', () => {
  it('makes one network call for two concurrent sends of one intent; both get the response', async () => {
    const { submitter, events } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const send = vi.fn(async () => {
      await gate;
      return response(201, { 'content-type': 'application/json' }, '{"id":7}');
    });
    const share = (r: Response) => r.clone();
    const first = submitter.submit({ intent, send, share });
    const second = submitter.submit({ intent: { ...intent, body: { qty: 1, sku: 'A' } }, send, share });
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(send).toHaveBeenCalledOnce();
    expect(await a.json()).toEqual({ id: 7 });
    expect(await b.json()).toEqual({ id: 7 });
    expect(events.some((e) => e.type === 'joined')).toBe(true);
  });

  it('sends two different intents separately', async () => {
    const { submitter } = setup();
    const { send, calls } = scripted([201, 201]);
    await Promise.all([submitter.submit({ intent, send }), submitter.submit({ intent: { ...intent, body: { sku: 'B' } }, send })]);
    expect(send).toHaveBeenCalledTimes(2);
    expect(calls[0]!.key).not.toBe(calls[1]!.key);
  });

  it('gives a second click inside the settle window the same result, without sending', async () => {
    let now = 1_000_000;
    const { submitter } = setup({ now: () => now });
    const { send } = scripted([201, 201]);
    const first = await submitter.submit({ intent, send });
    now += 500;
    const second = await submitter.submit({ intent, send });
    expect(send).toHaveBeenCalledOnce();
    expect(second).toBe(first);
    now += 1000;
    await submitter.submit({ intent, send });
    expect(send).toHaveBeenCalledTimes(2);
  });
});

describe('createSubmitter: keys and retries', () => {
  it('persists the key before the request leaves', async () => {
    const { submitter, store } = setup();
    const fp = await fingerprint(intent);
    let storedAtSend: KeyRecord | undefined;
    await submitter.submit({
      intent,
      send: async ({ key }) => {
        storedAtSend = await store.get(fp);
        expect(storedAtSend?.key).toBe(key);
        return response(201);
      },
    });
    expect(storedAtSend?.state).toBe('pending');
  });

  it('retries a 503 then 201 with the same key', async () => {
    const { submitter, events } = setup();
    const { send, calls } = scripted([503, 201]);
    const result = await submitter.submit({ intent, send });
    expect(result.status).toBe(201);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.key).toBe(calls[0]!.key);
    expect(calls.map((c) => c.attempt)).toEqual([1, 2]);
    expect(events.filter((e) => e.type === 'retry')).toHaveLength(1);
  });

  it('honours Retry-After in seconds before the next attempt', async () => {
    vi.useFakeTimers();
    const { submitter } = setup();
    const { send } = scripted([response(429, { 'retry-after': '2' }), 201]);
    const done = submitter.submit({ intent, send });
    await vi.advanceTimersByTimeAsync(1990);
    expect(send).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(20);
    expect(send).toHaveBeenCalledTimes(2);
    expect((await done).status).toBe(201);
  });

  it('honours Retry-After as an HTTP-date', async () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    const { submitter } = setup({ now: () => Date.now() });
    const { send } = scripted([response(503, { 'retry-after': 'Thu, 01 Jan 2026 00:00:03 GMT' }), 201]);
    const done = submitter.submit({ intent, send });
    await vi.advanceTimersByTimeAsync(2900);
    expect(send).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(200);
    expect((await done).status).toBe(201);
  });

  it('stops retrying when Retry-After is longer than maxRetryAfter, and keeps the key', async () => {
    const { submitter, store } = setup({ retry: { attempts: 5, maxRetryAfter: 1000 } });
    const { send, calls } = scripted([response(503, { 'retry-after': '120' })]);
    const result = await submitter.submit({ intent, send });
    expect(result.status).toBe(503);
    expect(send).toHaveBeenCalledOnce();
    await submitter.idle();
    expect((await store.get(await fingerprint(intent)))?.key).toBe(calls[0]!.key);
  });

  it.each([400, 404, 422])('treats %i as final: not retried, key retired', async (status) => {
    const { submitter, store } = setup({ settleWindow: 0 });
    const { send, calls } = scripted([status, 201]);
    const result = await submitter.submit({ intent, send });
    expect(result.status).toBe(status);
    expect(send).toHaveBeenCalledOnce();
    await submitter.idle();
    await submitter.submit({ intent, send });
    expect(calls[1]!.key).not.toBe(calls[0]!.key);
    await submitter.idle();
    expect((await store.get(await fingerprint(intent)))?.state).toBe('settled');
  });

  it('keeps the key after a network error so the next try reuses it', async () => {
    const { submitter, store } = setup({ retry: 2 });
    const { send, calls } = scripted([new TypeError('fetch failed'), new TypeError('fetch failed'), 201]);
    const error = await submitter.submit({ intent, send }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AmbiguousOutcomeError);
    expect(isSubmitOnceError(error, 'ambiguous-outcome')).toBe(true);
    expect((error as AmbiguousOutcomeError).cause).toBeInstanceOf(TypeError);
    await submitter.idle();
    const record = await store.get(await fingerprint(intent));
    expect(record).toMatchObject({ key: calls[0]!.key, state: 'ambiguous', attempts: 2 });

    // A later try, or a new page with the same store, reuses the key.
    const reloaded = createSubmitter({ store, locks: null, retry: 1 });
    await reloaded.submit({ intent, send });
    expect(calls.map((c) => c.key)).toEqual([calls[0]!.key, calls[0]!.key, calls[0]!.key]);
  });

  it('retires the key on success: a later, new submission of the same intent gets a new key', async () => {
    let now = 5_000_000;
    const { submitter, store } = setup({ now: () => now });
    const { send, calls } = scripted([201, 201]);
    await submitter.submit({ intent, send });
    await submitter.idle();
    expect((await store.get(await fingerprint(intent)))?.state).toBe('settled');
    now += 2000;
    await submitter.submit({ intent, send });
    expect(calls[1]!.key).not.toBe(calls[0]!.key);
  });

  it('reuses a settled key inside the settle window from another page (the server replays)', async () => {
    let now = 1_000;
    const store = memoryStore();
    const one = setup({ store, now: () => now }).submitter;
    const two = setup({ store, now: () => now }).submitter;
    const { send, calls } = scripted([201, 201]);
    await one.submit({ intent, send });
    await one.idle();
    now += 300;
    await two.submit({ intent, send });
    expect(calls[1]!.key).toBe(calls[0]!.key);
  });

  it('does not hand an exhausted ambiguous answer to the next try: it is sent again, same key', async () => {
    const { submitter } = setup({ retry: 1 });
    const { send, calls } = scripted([503, 201]);
    expect((await submitter.submit({ intent, send })).status).toBe(503);
    expect((await submitter.submit({ intent, send })).status).toBe(201);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.key).toBe(calls[0]!.key);
  });

  it('uses a caller key over the stored one and validates it', async () => {
    const { submitter } = setup();
    const { send, calls } = scripted([201]);
    await submitter.submit({ intent, send, key: 'order-42' });
    expect(calls[0]!.key).toBe('order-42');
    await expect(submitter.submit({ intent, send, key: 'bad key' })).rejects.toBeInstanceOf(InvalidKeyError);
  });

  it('throws KeyReusedError on the verifier 422 and drops the key', async () => {
    const { submitter, store } = setup();
    const problem = response(422, { 'content-type': 'application/problem+json' }, JSON.stringify({ type: 'https://submit-once.dev/problems/key-reused' }));
    const { send } = scripted([problem]);
    await expect(submitter.submit({ intent, send })).rejects.toBeInstanceOf(KeyReusedError);
    await submitter.idle();
    expect(await store.get(await fingerprint(intent))).toBeUndefined();
  });

  it('reports replayed responses', async () => {
    const { submitter, events } = setup();
    const { send } = scripted([response(201, { 'idempotent-replayed': 'true' })]);
    await submitter.submit({ intent, send });
    expect(events.find((e) => e.type === 'replayed')).toMatchObject({ status: 201 });
  });

  it('retries errors carrying an ambiguous status (axios style) and rethrows the final one', async () => {
    const { submitter } = setup();
    const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { response: { status, headers: {} } });
    const { send } = scripted([httpError(502), httpError(400)]);
    await expect(submitter.submit({ intent, send })).rejects.toThrow('HTTP 400');
    expect(send).toHaveBeenCalledTimes(2);
  });
});

describe('createSubmitter: abort', () => {
  it('stops retries when the caller aborts, keeping the key', async () => {
    const { submitter, store } = setup({ retry: { attempts: 10, baseDelay: 10_000, maxDelay: 10_000 }, random: () => 1 });
    const controller = new AbortController();
    const { send, calls } = scripted([503, 503, 503]);
    const done = submitter.submit({ intent, send, signal: controller.signal });
    await vi.waitFor(() => expect(send).toHaveBeenCalledOnce());
    controller.abort();
    const error = await done.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SubmissionAbortedError);
    expect((error as Error).name).toBe('AbortError');
    expect(send).toHaveBeenCalledOnce();
    await submitter.idle();
    expect((await store.get(await fingerprint(intent)))?.key).toBe(calls[0]!.key);
  });

  it("one caller's abort does not abort another caller joined to the same intent", async () => {
    // Two components submit one intent; the one that started it unmounts during the backoff.
    const { submitter } = setup({ retry: { attempts: 3, baseDelay: 50, maxDelay: 50 }, random: () => 1 });
    const controller = new AbortController();
    const { send, calls } = scripted([503, 201]);
    const first = submitter.submit({ intent, send, signal: controller.signal });
    const second = submitter.submit({ intent, send });
    await vi.waitFor(() => expect(send).toHaveBeenCalledOnce());
    controller.abort();
    await expect(first).rejects.toBeInstanceOf(SubmissionAbortedError);
    // The second caller never aborted: it gets the intent's answer, not the first caller's abort.
    expect((await second).status).toBe(201);
    expect(calls.map((c) => c.key)).toEqual([calls[0]!.key, calls[0]!.key]);
  });

  it('a joined caller that aborts stops waiting at once, as fetch does; the flight goes on', async () => {
    const { submitter } = setup();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const send = vi.fn(async () => (await gate, response(201)));
    const first = submitter.submit({ intent, send });
    const controller = new AbortController();
    const second = submitter.submit({ intent, send, signal: controller.signal });
    let outcome: unknown = 'still waiting';
    second.then(
      () => (outcome = 'resolved'),
      (error: unknown) => (outcome = error),
    );
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Before the shared request answers: the aborted caller is no longer waiting on it.
    expect(outcome).toBeInstanceOf(SubmissionAbortedError);
    release();
    expect((await first).status).toBe(201);
    expect(send).toHaveBeenCalledOnce();
  });

  it('passes an abortable signal to the attempt', async () => {
    const { submitter } = setup();
    const controller = new AbortController();
    const done = submitter.submit({
      intent,
      signal: controller.signal,
      send: ({ signal }) =>
        new Promise<Response>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
    });
    controller.abort();
    await expect(done).rejects.toBeInstanceOf(SubmissionAbortedError);
  });

  it('combines the caller signal and the attempt timeout (no AbortSignal.any needed: stubbed away)', async () => {
    vi.stubGlobal('AbortSignal', Object.assign(Object.create(AbortSignal), { any: undefined, timeout: AbortSignal.timeout.bind(AbortSignal) }));
    try {
      const { submitter } = setup({ timeout: 20 });
      const controller = new AbortController();
      let attempts = 0;
      const hang = ({ signal }: AttemptContext) => {
        attempts += 1;
        return new Promise<Response>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      };
      const timedOut = submitter.submit({ intent, signal: controller.signal, retry: 2, send: hang });
      await expect(timedOut).rejects.toBeInstanceOf(AmbiguousOutcomeError);
      expect(attempts).toBe(2);
      const aborted = submitter.submit({ intent: { ...intent, body: 'other' }, signal: controller.signal, send: hang });
      controller.abort();
      await expect(aborted).rejects.toBeInstanceOf(SubmissionAbortedError);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('times out a hung attempt and retries it with the same key', async () => {
    const { submitter } = setup({ timeout: 20 });
    const keys: string[] = [];
    const result = await submitter.submit({
      intent,
      send: ({ key, signal, attempt }) => {
        keys.push(key);
        if (attempt > 1) return Promise.resolve(response(201));
        return new Promise<Response>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      },
    });
    expect(result.status).toBe(201);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });
});

describe('createSubmitter: storage failures degrade to memory', () => {
  function failingStore(error: unknown, failOn: Array<keyof KeyStore>): KeyStore {
    const inner = memoryStore();
    const fail = <T>(name: keyof KeyStore, run: () => Promise<T>) => (failOn.includes(name) ? Promise.reject(error) : run());
    return {
      get: (fp) => fail('get', () => inner.get(fp)),
      upsert: (fp, decide) => fail('upsert', () => inner.upsert(fp, decide)),
      batch: (decisions) => fail('batch', () => inner.batch(decisions)),
      list: () => fail('list', () => inner.list()),
    };
  }

  it('a quota error on the write-ahead falls back to memory, emits an event, and still sends', async () => {
    const quota = new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    const { submitter, events } = setup({ store: failingStore(quota, ['batch', 'upsert']), retry: 2 });
    const { send, calls } = scripted([new TypeError('offline'), new TypeError('offline'), 201]);
    await expect(submitter.submit({ intent, send })).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    const degraded = events.filter((e) => e.type === 'storage-degraded');
    expect(degraded).toHaveLength(1);
    expect(degraded[0]).toMatchObject({ operation: 'upsert', error: quota });
    // The key lives on in memory for the next try.
    await submitter.submit({ intent, send });
    expect(new Set(calls.map((c) => c.key)).size).toBe(1);
  });

  it('a store that never answers (blocked open) times out into memory and does not stall the send', async () => {
    const hung: KeyStore = { get: () => new Promise(() => {}), upsert: () => new Promise(() => {}), batch: () => new Promise(() => {}), list: () => new Promise(() => {}) };
    const { submitter, events } = setup({ store: hung, storageTimeout: 30 });
    const { send } = scripted([201]);
    expect((await submitter.submit({ intent, send })).status).toBe(201);
    expect(events.some((e) => e.type === 'storage-degraded')).toBe(true);
  });

  it('a write-ahead that times out but commits later leaves the key that was sent, so a reload reuses it', async () => {
    // IndexedDB decides the claim at once but its commit is slow (a busy disk, strict durability).
    const disk = memoryStore();
    let slow = true;
    const sluggish: KeyStore = {
      ...disk,
      upsert: async (fp, decide) => {
        const committed = disk.upsert(fp, decide);
        if (slow) await new Promise((resolve) => setTimeout(resolve, 80));
        return committed;
      },
    };
    const first = setup({ store: sluggish, storageTimeout: 20, retry: false });
    const { send, calls } = scripted([new TypeError('offline'), 201]);
    await expect(first.submitter.submit({ intent, send })).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    await new Promise((resolve) => setTimeout(resolve, 120));
    // The page reloads: a new engine over the same database, now answering in time.
    slow = false;
    const second = setup({ store: sluggish, retry: false });
    await second.submitter.submit({ intent, send });
    expect(calls.map((c) => c.key)).toEqual([calls[0]!.key, calls[0]!.key]);
  });

  it('a store slower to answer than storageTimeout on a new page sends a new key, though it holds the earlier page\'s (the README\'s limit)', async () => {
    // The earlier page sent with a key and got no answer; its record is in the database.
    const disk = memoryStore();
    const first = setup({ store: disk, retry: false });
    const { send, calls } = scripted([new TypeError('offline'), 201]);
    await expect(first.submitter.submit({ intent, send })).rejects.toBeInstanceOf(AmbiguousOutcomeError);
    // The reload's database is slow to open: degrade, never block, so memory decides and knows no key.
    const slowOpen: KeyStore = {
      ...disk,
      upsert: async (fp, decide) => {
        await new Promise((resolve) => setTimeout(resolve, 80));
        return disk.upsert(fp, decide);
      },
    };
    const second = setup({ store: slowOpen, storageTimeout: 20, retry: false });
    await second.submitter.submit({ intent, send });
    expect(second.events.some((e) => e.type === 'storage-degraded')).toBe(true);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.key).not.toBe(calls[0]!.key);
  });

  it('with no IndexedDB at all (default store) the request still goes out, after an event', async () => {
    const events: SubmitEvent[] = [];
    const submitter = createSubmitter({ locks: null, onEvent: (e) => events.push(e) });
    const { send } = scripted([201]);
    expect((await submitter.submit({ intent, send })).status).toBe(201);
    expect(events.find((e) => e.type === 'storage-degraded')).toBeDefined();
  });
});

describe('createSubmitter: options and locks', () => {
  it('rejects bad options with a typed error when created', () => {
    expect(() => createSubmitter({ ttl: -1 })).toThrow(InvalidOptionsError);
    expect(() => createSubmitter({ retry: { attempts: 0 } })).toThrow(InvalidOptionsError);
  });

  it('separates scopes: two users on one device never share a key', async () => {
    let user = 'alice';
    const { submitter } = setup({ scope: () => user, settleWindow: 0 });
    const { send, calls } = scripted([new TypeError('x'), new TypeError('x'), new TypeError('x'), new TypeError('x'), 201]);
    await submitter.submit({ intent, send, retry: 1 }).catch(() => undefined);
    user = 'bob';
    await submitter.submit({ intent, send, retry: 1 }).catch(() => undefined);
    expect(calls[1]!.key).not.toBe(calls[0]!.key);
  });

  it('requests no Web Lock for an uncontended submission: only the tab holds one, for its life', async () => {
    const names: string[] = [];
    const locks = {
      request: <T>(name: string, _options: { signal?: AbortSignal }, callback: () => Promise<T>) => {
        names.push(name);
        return callback();
      },
    };
    const { submitter } = setup({ locks });
    // The page's lifetime lock is taken once, by the first engine made with locks in this module.
    const atStart = names.length;
    expect(names.every((name) => name.startsWith('submit-once:tab:'))).toBe(true);
    for (const sku of ['A', 'B', 'C']) await submitter.submit({ intent: { ...intent, body: { sku } }, send: scripted([201]).send });
    expect(names).toHaveLength(atStart);
  });

  it('prepare() mints and persists the key the next submission uses', async () => {
    const { submitter } = setup();
    const key = await submitter.prepare(intent);
    expect(await submitter.peek(intent)).toBe(key);
    const { send, calls } = scripted([201]);
    await submitter.submit({ intent, send });
    expect(calls[0]!.key).toBe(key);
    await submitter.forget(intent);
    expect(await submitter.peek(intent)).toBeUndefined();
  });
});

describe('createSubmitter: bodies fingerprinted at once or read first', () => {
  it('registers a plain body synchronously, and reads a Blob before claiming', async () => {
    const { submitter } = setup();
    const { send, calls } = scripted([201, 201, 201]);
    // Two submissions of one intent in the same tick: the second joins the first.
    await Promise.all([submitter.submit({ intent, send }), submitter.submit({ intent, send })]);
    expect(send).toHaveBeenCalledTimes(1);
    // A Blob is read first (its bytes are the intent): equal bytes, one intent, one key.
    const blob = (text: string) => ({ ...intent, body: new Blob([text], { type: 'text/plain' }) });
    await submitter.submit({ intent: blob('same'), send });
    expect(await submitter.peek(blob('same'))).toBe(calls[1]!.key);
    expect(await submitter.peek(blob('other'))).toBeUndefined();
  });
});

describe('createSubmitter: timers past setTimeout range', () => {
  // A browser (and Node) fires a setTimeout longer than 2^31-1 ms at once: "never" must not mean "now".
  it('a timeout of Infinity or past 2^31-1 ms does not abort the attempt at once', async () => {
    for (const timeout of [Infinity, 2 ** 31]) {
      let created: ReturnType<typeof setup> | undefined;
      try {
        created = setup({ timeout, retry: false });
      } catch (error) {
        // Refusing it with a typed error is fine too.
        expect(error).toBeInstanceOf(InvalidOptionsError);
        continue;
      }
      const send = async ({ signal }: AttemptContext) => {
        await new Promise((resolve) => setTimeout(resolve, 30));
        if (signal.aborted) throw signal.reason;
        return response(201);
      };
      expect((await created.submitter.submit({ intent, send })).status).toBe(201);
    }
  });

  it('a Retry-After past 2^31-1 ms, allowed by maxRetryAfter: Infinity, is not a retry at once', async () => {
    const { submitter } = setup({ retry: { attempts: 2, maxRetryAfter: Infinity } });
    const { send } = scripted([response(503, { 'retry-after': String(30 * 24 * 3600) }), 201]);
    const controller = new AbortController();
    const submitted = submitter.submit({ intent, send, signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(send).toHaveBeenCalledTimes(1);
    controller.abort();
    await expect(submitted).rejects.toBeInstanceOf(SubmissionAbortedError);
  });
});

describe('a malformed call (plain JavaScript, no types to catch it)', () => {
  const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A' } };
  const send = async () => new Response(null, { status: 201 });
  const cases: [string, unknown][] = [
    ['no intent', { send }],
    ['an intent of null', { intent: null, send }],
    ['an intent without a url', { intent: { method: 'POST', body: { sku: 'A' } }, send }],
    ['an intent whose url is a number', { intent: { method: 'POST', url: 42 }, send }],
    ['no send', { intent }],
    ['a send that is not a function', { intent, send: 'fetch' }],
  ];
  for (const [name, call] of cases) {
    it(`${name}: InvalidRequestError at once, nothing stored or sent`, async () => {
      const store = memoryStore();
      const submitter = createSubmitter({ store, locks: null, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
      await expect(submitter.submit(call as Parameters<typeof submitter.submit>[0])).rejects.toBeInstanceOf(InvalidRequestError);
      await submitter.idle();
      expect(await store.list()).toEqual([]);
    });
  }
});
