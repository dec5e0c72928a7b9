import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, normaliseRetry } from '../../src/core/retry.js';
import { InvalidOptionsError } from '../../src/core/errors.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';

describe('backoff and options', () => {
  it('uses full jitter under a doubling, capped ceiling', () => {
    const options = { ...DEFAULT_RETRY, baseDelay: 100, maxDelay: 1000 };
    expect(backoffDelay(1, options, () => 0.999)).toBe(99);
    expect(backoffDelay(3, options, () => 0.999)).toBe(399);
    expect(backoffDelay(10, options, () => 0.999)).toBe(999);
    expect(backoffDelay(4, options, () => 0)).toBe(0);
  });

  it('accepts shorthand and rejects nonsense with a typed error', () => {
    expect(normaliseRetry(5).attempts).toBe(5);
    expect(normaliseRetry(false).attempts).toBe(1);
    expect(normaliseRetry({ baseDelay: 1, maxDelay: undefined }).maxDelay).toBe(DEFAULT_RETRY.maxDelay);
    expect(() => normaliseRetry(0)).toThrow(InvalidOptionsError);
    expect(() => normaliseRetry({ baseDelay: -1 })).toThrow(InvalidOptionsError);
  });

  it('refuses a retry that is no number, false or object with a typed error, naming it', () => {
    // From JavaScript or JSON config: null threw a bare TypeError, '3' and true were
    // silently the defaults (three attempts where the caller asked for something else).
    for (const input of [null, '3', true, [2], () => 3]) {
      expect(() => normaliseRetry(input as never), String(input)).toThrow(InvalidOptionsError);
      expect(() => createIdempotentFetch({ retry: input as never }), String(input)).toThrow(/"retry"/);
    }
  });
});
