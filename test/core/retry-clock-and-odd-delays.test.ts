/**
 * The retry policy's waits under a wall clock that jumps and under odd but accepted
 * options: a wait is never NaN (a NaN timer fires at once), and the in-progress bound is
 * not stretched by a clock set back (by hand, NTP, a resumed VM).
 */
import { describe, expect, it, vi } from 'vitest';
import { backoffDelay, DEFAULT_RETRY } from '../../src/core/retry.js';
import { IN_PROGRESS_FLOOR, inProgressWaits } from '../../src/core/in-progress.js';
import { createSubmitter } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';

const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A', qty: 1 } };

describe('in-progress waits under a wall clock set back', () => {
  it('stop within inProgressTimeout of waiting, not once the clock has caught up with the jump', async () => {
    let clock = 1_000_000_000;
    const submitter = createSubmitter({
      store: memoryStore(),
      locks: null,
      random: () => 0,
      now: () => clock,
      retry: { attempts: 3, baseDelay: 1, maxDelay: 1 },
      inProgressTimeout: 10_000,
    });
    // The origin's count: every request the server answers "in progress".
    let requests = 0;
    const send = vi.fn(async () => {
      requests += 1;
      // The clock is set back an hour after the first answer, then each request takes 4 s.
      clock += requests === 2 ? -3_600_000 : 4_000;
      if (requests > 50) return new Response(null, { status: 201 });
      return new Response(null, { status: 409 });
    });
    const response = await submitter.submit({ intent, send });
    // 4 s of waiting per request after the first 409: 10 s are spent after three more.
    expect(response.status).toBe(409);
    expect(requests).toBeLessThanOrEqual(5);
  });
});

describe('no wait is NaN', () => {
  it('backoff with accepted extremes (Infinity delays, a long run of retries at 0 ms base)', () => {
    const infinite = { ...DEFAULT_RETRY, baseDelay: Infinity, maxDelay: Infinity };
    for (const random of [() => 0, () => 0.5]) {
      const delay = backoffDelay(1, infinite, random);
      expect(Number.isNaN(delay), `random ${random()}`).toBe(false);
    }
    expect(Number.isNaN(backoffDelay(1100, { ...DEFAULT_RETRY, baseDelay: 0 }, () => 0.5))).toBe(false);
  });

  it('an in-progress wait at baseDelay: 0 without Retry-After, as the retry event reports it', async () => {
    // `undefined >= 0` read as "Retry-After at least the base delay": the wait was NaN.
    const delays: unknown[] = [];
    const submitter = createSubmitter({
      store: memoryStore(),
      locks: null,
      retry: { attempts: 2, baseDelay: 0 },
      onEvent: (event) => event.type === 'retry' && delays.push(event.delayMs),
    });
    let requests = 0;
    const send = async () => new Response(null, { status: (requests += 1) === 1 ? 409 : 201 });
    expect((await submitter.submit({ intent, send })).status).toBe(201);
    // A number, and at least the in-progress floor (base 0 no longer polls at once).
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThanOrEqual(IN_PROGRESS_FLOOR);
    expect(delays[0]).toBeLessThan(2 * IN_PROGRESS_FLOOR);
  });

  it('in-progress waits after many polls at 0 ms base', () => {
    const next = inProgressWaits(Infinity, { ...DEFAULT_RETRY, baseDelay: 0, maxDelay: 1000 }, () => 0, () => 0.5);
    const delays = Array.from({ length: 1100 }, () => next(undefined));
    expect(delays.filter((delay) => Number.isNaN(delay))).toEqual([]);
  });
});
