import { describe, expect, it } from 'vitest';
import { JsonTooDeepError, MAX_JSON_DEPTH, payloadFingerprint } from '../../src/server/fingerprint.js';
import { parseIdempotencyKey } from '../../src/server/key.js';

describe('parseIdempotencyKey', () => {
  it.each([
    ['abc', 'abc'],
    ['"abc"', 'abc'],
    ['  8e03978e-40d5-43e8-bc93-6894a57f9324 ', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['"a\\"b"', 'a"b'],
    ['"a\\\\b"', 'a\\b'],
    ['x'.repeat(255), 'x'.repeat(255)],
  ])('accepts %j as %j', (raw, key) => {
    expect(parseIdempotencyKey(raw)).toEqual({ ok: true, key });
  });

  it.each(['', '""', '"abc', '"a"b"', '"a\\b"', '"a\\"', 'a b', '"a b"', 'a, b', 'x'.repeat(256), 'é', 'a\u0000'])('rejects %j', (raw) => {
    expect(parseIdempotencyKey(raw).ok).toBe(false);
  });
});

describe('payloadFingerprint', () => {
  const base = { method: 'POST', path: '/orders', query: '' };
  const fp = (body: unknown, extra: Partial<typeof base> = {}) => payloadFingerprint({ ...base, ...extra, body });

  it('ignores JSON key order, at every depth, whether parsed or raw', () => {
    const parsed = fp({ a: 1, b: { c: [1, { d: 2, e: 3 }] } });
    expect(fp(Buffer.from('{"b":{"c":[1,{"e":3,"d":2}]},"a":1}'))).toBe(parsed);
    expect(fp('{ "a": 1, "b": { "c": [1, { "d": 2, "e": 3 }] } }')).toBe(parsed);
  });

  it('tells apart what changes the intent', () => {
    const reference = fp({ a: 1 });
    expect(fp({ a: 2 })).not.toBe(reference);
    expect(fp({ a: [1, 2] })).not.toBe(fp({ a: [2, 1] }));
    expect(fp({ a: 1 }, { method: 'PATCH' })).not.toBe(reference);
    expect(fp({ a: 1 }, { path: '/orders/2' })).not.toBe(reference);
    expect(fp({ a: 1 }, { query: 'x=1' })).not.toBe(reference);
    expect(fp(Buffer.from('a=1&b=2'))).not.toBe(fp(Buffer.from('b=2&a=1')));
  });

  it('sorts query parameters and treats empty bodies alike', () => {
    expect(fp(undefined, { query: 'b=2&a=1' })).toBe(fp(undefined, { query: 'a=1&b=2' }));
    expect(fp(Buffer.alloc(0))).toBe(fp(undefined));
  });
});

describe('JSON depth', () => {
  const nested = (n: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < n; i++) value = i % 2 === 0 ? [value] : { v: value };
    return value;
  };

  it('fingerprints 64 levels and refuses 65, parsed or raw, without recursing into hostile depth', () => {
    const base = { method: 'POST', path: '/orders', query: '' };
    expect(() => payloadFingerprint({ ...base, body: nested(64) })).not.toThrow();
    expect(() => payloadFingerprint({ ...base, body: nested(65) })).toThrow(JsonTooDeepError);
    expect(() => payloadFingerprint({ ...base, body: Buffer.from(JSON.stringify(nested(65))) })).toThrow(JsonTooDeepError);
    // Deep enough to overflow any recursive walk.
    expect(() => payloadFingerprint({ ...base, body: nested(1_000_000) })).toThrow(JsonTooDeepError);
    expect(MAX_JSON_DEPTH).toBe(64);
  });
});
