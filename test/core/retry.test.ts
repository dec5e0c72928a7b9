import { describe, expect, it } from 'vitest';
import { backoffDelay, DEFAULT_RETRY, normaliseRetry } from '../../src/core/retry.js';
import { classifyStatus, parseRetryAfter } from '../../src/core/classify.js';
import { InvalidOptionsError } from '../../src/core/errors.js';

describe('classifyStatus', () => {
  it('separates success, final refusals and ambiguous outcomes', () => {
    for (const status of [200, 201, 204, 302]) expect(classifyStatus(status)).toBe('success');
    for (const status of [400, 401, 403, 404, 410, 422]) expect(classifyStatus(status)).toBe('final');
    for (const status of [408, 409, 425, 429, 500, 502, 503, 504]) expect(classifyStatus(status)).toBe('ambiguous');
  });
});

describe('parseRetryAfter', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

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
