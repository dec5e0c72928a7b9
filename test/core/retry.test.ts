import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, normaliseRetry } from '../../src/core/retry.js';
import { InvalidOptionsError } from '../../src/core/errors.js';

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
});
