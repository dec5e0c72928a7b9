/**
 * What storage work sits on the submit path: one claim transaction, nothing left over from
 * the previous submission, and nothing at all for a key claimed ahead by `prepare()`.
 * (The cost itself is measured as ratios by `npm run bench`, never timed here.)
 */
import { describe, expect, it } from 'vitest';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore, type KeyStore } from '../../src/core/store.js';

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
});
