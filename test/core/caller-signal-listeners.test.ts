/**
 * A long-lived caller signal (one app-wide AbortController passed to every submission)
 * must not collect an 'abort' listener per attempt: each is a leak, and each would abort a
 * finished attempt's signal when the caller aborts. Counted where they are added, on the
 * caller's signal itself.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createSubmitter, type AttemptContext } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import { AmbiguousOutcomeError } from '../../src/core/errors.js';
import { countedSignal } from '../helpers/counted-signal.js';

const submitter = () => createSubmitter({ store: memoryStore(), locks: null, random: () => 0, timeout: 5_000, retry: { attempts: 3, baseDelay: 1, maxDelay: 1 } });
const intent = (n: number) => ({ method: 'POST', url: 'https://shop.test/orders', body: { n } });

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('the attempt timeout and a long-lived caller signal', () => {
  it('ten timed submissions leave no listener on the caller signal', async () => {
    const caller = countedSignal();
    const engine = submitter();
    for (let n = 0; n < 10; n += 1) await engine.submit({ intent: intent(n), signal: caller.signal, send: async () => 'ok' });
    expect(caller.listeners()).toBe(0);
  });

  it("the caller's abort still reaches a successful attempt's signal (its body may still be read)", async () => {
    const caller = countedSignal();
    let sent: AbortSignal | undefined;
    await submitter().submit({ intent: intent(0), signal: caller.signal, send: async ({ signal }: AttemptContext) => ((sent = signal), 'ok') });
    caller.controller.abort();
    expect(sent!.aborted).toBe(true);
  });

  describe('without AbortSignal.any (Chrome < 116, Safari < 17.4)', () => {
    const withoutAny = () =>
      vi.stubGlobal('AbortSignal', Object.assign(Object.create(AbortSignal) as typeof AbortSignal, { any: undefined, timeout: AbortSignal.timeout.bind(AbortSignal) }));

    it("a failed attempt takes its listener off the caller's signal, and the caller's later abort leaves its signal alone", async () => {
      withoutAny();
      const caller = countedSignal();
      const sent: AbortSignal[] = [];
      const failing = submitter().submit({
        intent: intent(0),
        signal: caller.signal,
        send: async ({ signal }: AttemptContext) => {
          sent.push(signal);
          throw new TypeError('Failed to fetch');
        },
      });
      await expect(failing).rejects.toBeInstanceOf(AmbiguousOutcomeError);
      expect(sent).toHaveLength(3);
      expect(caller.listeners()).toBe(0);
      caller.controller.abort();
      expect(sent.map((signal) => signal.aborted)).toEqual([false, false, false]);
    });

    it("a successful attempt keeps following the caller's signal: its body may still be read", async () => {
      withoutAny();
      const caller = countedSignal();
      let sent: AbortSignal | undefined;
      await submitter().submit({ intent: intent(0), signal: caller.signal, send: async ({ signal }: AttemptContext) => ((sent = signal), 'ok') });
      expect(caller.listeners()).toBe(1);
      caller.controller.abort();
      expect(sent!.aborted).toBe(true);
    });
  });
});
