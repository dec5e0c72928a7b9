/**
 * What storage work sits on the submit path: one claim transaction, nothing left over from
 * the previous submission, and nothing at all for a key claimed ahead by `prepare()`.
 * (The cost itself is measured as ratios by `npm run bench`, never timed here.)
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { takeKey } from '../../src/core/key.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore, type KeyStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { countAbortControllers } from '../helpers/count-abort-controllers.js';

/** A memory store that logs each operation, into the same log as the sends. */
function loggingStore(log: string[]): KeyStore {
  const inner = memoryStore();
  return {
    get: (fp) => (log.push('get'), inner.get(fp)),
    upsert: (fp, decide) => (log.push('upsert'), inner.upsert(fp, decide)),
    batch: (decisions) => (log.push(`batch(${decisions.size})`), inner.batch(decisions)),
    list: () => (log.push('list'), inner.list()),
  };
}

const intent = (sku: string) => ({ method: 'POST', url: 'https://shop.test/orders', body: { sku } });

describe('the submit path', () => {
  it('a burst of different intents: one claim per submission, settle writes after the burst in one transaction', async () => {
    const log: string[] = [];
    const submitter = createSubmitter({ store: loggingStore(log), locks: null });
    for (const sku of ['A', 'B', 'C', 'D']) {
      await submitter.submit({ intent: intent(sku), send: async () => (log.push('send'), new Response(null, { status: 201 })) });
    }
    expect(log).toEqual(['upsert', 'send', 'upsert', 'send', 'upsert', 'send', 'upsert', 'send']);
    await submitter.idle();
    expect(log.slice(8)).toEqual(['batch(4)', 'list']);
  });

  it('an answer slower than the settle write\'s delay: its write still lands, after the answer', async () => {
    vi.useFakeTimers();
    try {
      const log: string[] = [];
      const submitter = createSubmitter({ store: loggingStore(log), locks: null });
      const answered = submitter.submit({
        intent: intent('SLOW'),
        send: () => new Promise<Response>((resolve) => setTimeout(() => (log.push('answer'), resolve(new Response(null, { status: 201 }))), 250)),
      });
      await vi.advanceTimersByTimeAsync(250);
      expect((await answered).status).toBe(201);
      const writes = () => log.slice(log.indexOf('answer')).filter((entry) => entry.startsWith('batch'));
      expect(writes()).toEqual([]);
      await vi.advanceTimersByTimeAsync(100);
      expect(writes()).toEqual(['batch(1)']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('a prepared key: the click sends without any storage operation', async () => {
    const log: string[] = [];
    const submitter = createSubmitter({ store: loggingStore(log), locks: null });
    const key = await submitter.prepare(intent('P'));
    expect(log).toEqual(['upsert']);
    let sentWith: string | undefined;
    await submitter.submit({ intent: intent('P'), send: async (attempt) => ((sentWith = attempt.key), log.push('send'), new Response(null, { status: 201 })) });
    expect(log).toEqual(['upsert', 'send']);
    expect(sentWith).toBe(key);
  });

  it('a prepared key is used once: the next submission after the settle window claims again', async () => {
    const log: string[] = [];
    const submitter = createSubmitter({ store: loggingStore(log), locks: null, settleWindow: 0 });
    await submitter.prepare(intent('Q'));
    const send = async () => (log.push('send'), new Response(null, { status: 201 }));
    await submitter.submit({ intent: intent('Q'), send });
    await submitter.submit({ intent: intent('Q'), send });
    expect(log).toEqual(['upsert', 'send', 'upsert', 'send']);
  });

  it('the next key is minted once the request has left, not on the claim', async () => {
    const log: string[] = [];
    const submitter = createSubmitter({ store: loggingStore(log), locks: null });
    const send = async () => (log.push('send'), new Response(null, { status: 201 }));
    // The first submission of the page has no key minted ahead.
    await submitter.submit({ intent: intent('K1'), send });
    const randomUUID = crypto.randomUUID.bind(crypto);
    const mint = vi.spyOn(crypto, 'randomUUID').mockImplementation(() => (log.push('mint'), randomUUID()));
    try {
      log.length = 0;
      const keys: string[] = [];
      for (const sku of ['K2', 'K3']) await submitter.submit({ intent: intent(sku), send: async (attempt) => (keys.push(attempt.key), send()) });
      expect(log).toEqual(['upsert', 'send', 'mint', 'upsert', 'send', 'mint']);
      expect(new Set(keys).size).toBe(2);
    } finally {
      mint.mockRestore();
    }
  });

  it('a key given by the caller where no random source exists: one send, its answer, no failed mint', async () => {
    const submitter = createSubmitter({ store: memoryStore(), locks: null });
    // Takes the key minted ahead by earlier submissions, so the next mint is a real one.
    takeKey();
    vi.stubGlobal('crypto', undefined);
    try {
      let sends = 0;
      const answer = await submitter.submit({
        intent: intent('G1'),
        key: '5b0c1f9e-6c1a-4c55-9d47-4e1f3b0f2a11',
        retry: { attempts: 3, baseDelay: 1 },
        send: async () => (sends++, new Response('made', { status: 201 })),
      });
      expect([answer.status, sends]).toEqual([201, 1]);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  describe('an attempt nothing can abort', () => {
    afterEach(() => vi.unstubAllGlobals());

    it('makes no signal when the adapter sends without one (fetch, no caller signal, no timeout)', async () => {
      const made = countAbortControllers();
      let sentSignal: unknown = 'not sent';
      const idempotentFetch = createIdempotentFetch({
        store: memoryStore(),
        locks: null,
        fetch: async (_input, init) => ((sentSignal = init?.signal), new Response(null, { status: 201 })),
      });
      expect((await idempotentFetch('https://shop.test/orders', { method: 'POST', body: '{"sku":"A"}' })).status).toBe(201);
      expect(sentSignal).toBeUndefined();
      expect(made()).toBe(0);
    });

    it('makes none for an adapter over a shared engine (a prepared click), which cannot know the engine has no timeout', async () => {
      const made = countAbortControllers();
      const submitter = createSubmitter({ store: memoryStore(), locks: null });
      let sentSignal: unknown = 'not sent';
      const idempotentFetch = createIdempotentFetch({ submitter, fetch: async (_input, init) => ((sentSignal = init?.signal), new Response(null, { status: 201 })) });
      await submitter.prepare({ method: 'POST', url: 'https://shop.test/orders', body: '{"sku":"P"}' });
      expect((await idempotentFetch('https://shop.test/orders', { method: 'POST', body: '{"sku":"P"}' })).status).toBe(201);
      expect(sentSignal).toBeUndefined();
      expect(made()).toBe(0);
    });

    it('sends the timed signal of a shared engine with a timeout', async () => {
      const submitter = createSubmitter({ store: memoryStore(), locks: null, timeout: 60_000 });
      let sentSignal: unknown;
      const idempotentFetch = createIdempotentFetch({ submitter, fetch: async (_input, init) => ((sentSignal = init?.signal), new Response(null, { status: 201 })) });
      await idempotentFetch('https://shop.test/orders', { method: 'POST', body: '{"sku":"T"}' });
      expect(sentSignal).toBeInstanceOf(AbortSignal);
    });

    it('still gives a signal, never aborted, to a send that reads it', async () => {
      const made = countAbortControllers();
      const submitter = createSubmitter({ store: memoryStore(), locks: null });
      const signals: AbortSignal[] = [];
      await submitter.submit({ intent: intent('S'), send: async ({ signal }) => (signals.push(signal, signal), new Response(null, { status: 201 })) });
      expect(signals[0]).toBeInstanceOf(AbortSignal);
      expect(signals[0]!.aborted).toBe(false);
      expect(signals[1]).toBe(signals[0]);
      expect(made()).toBe(1);
    });
  });
});
