import { describe, expect, it } from 'vitest';
import { classifyStatus, defaultClassifier, parseRetryAfter } from '../../src/core/classify.js';

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
    expect(parseRetryAfter('1.5', now)).toBe(1500);
    expect(parseRetryAfter('Thursday, 01-Jan-26 00:00:05 GMT', now)).toBe(5000);
    for (const garbage of ['-5', '+5', '1,5', '5 4', '1.5.0', '']) expect(parseRetryAfter(garbage, now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

const problem = (status: number, type: string) =>
  new Response(JSON.stringify({ type, status }), { status, headers: { 'content-type': 'application/problem+json' } });
const PROBLEMS = 'https://submit-once.dev/problems/';

describe('defaultClassifier', () => {
  it('reads a thrown error by its own `status` when it has no `response`; status 0 or none is ambiguous', async () => {
    expect(await defaultClassifier({ ok: false, error: Object.assign(new Error('refused'), { status: 400 }) }, 0)).toMatchObject({ kind: 'final', status: 400 });
    expect(await defaultClassifier({ ok: false, error: { status: 503 } }, 0)).toMatchObject({ kind: 'ambiguous', status: 503 });
    // Angular's HttpErrorResponse for a network failure, and a plain throw.
    expect(await defaultClassifier({ ok: false, error: { status: 0 } }, 0)).toEqual({ kind: 'ambiguous' });
    expect(await defaultClassifier({ ok: false, error: new Error('reset') }, 0)).toEqual({ kind: 'ambiguous' });
  });

  it('reads our outcome-unknown problem as final and typed, whatever its status', async () => {
    for (const status of [500, 503, 409]) {
      expect(await defaultClassifier({ ok: true, value: problem(status, `${PROBLEMS}outcome-unknown`) }, 0)).toEqual({ kind: 'outcome-unknown', status });
    }
  });

  it('reads key-reused the same way, from a fetch Response or an axios error alike', async () => {
    expect(await defaultClassifier({ ok: true, value: problem(422, `${PROBLEMS}key-reused`) }, 0)).toEqual({ kind: 'key-reused', status: 422 });
    const axiosError = { response: { status: 422, headers: { 'Content-Type': 'application/problem+json' }, data: `{"type":"${PROBLEMS}key-reused"}` } };
    expect(await defaultClassifier({ ok: false, error: axiosError }, 0)).toEqual({ kind: 'key-reused', status: 422 });
  });

  it('leaves problems that are not ours, or not the two that change what the client does, to their status', async () => {
    expect(await defaultClassifier({ ok: true, value: problem(500, 'https://example.com/problems/outcome-unknown') }, 0)).toEqual({ kind: 'ambiguous', status: 500 });
    expect(await defaultClassifier({ ok: true, value: problem(503, `${PROBLEMS}store-unavailable`) }, 0)).toEqual({ kind: 'ambiguous', status: 503 });
    expect(await defaultClassifier({ ok: true, value: problem(400, `${PROBLEMS}key-malformed`) }, 0)).toEqual({ kind: 'final', status: 400, replayed: false });
  });

  it('does not consume the body the caller will read', async () => {
    const response = problem(500, `${PROBLEMS}outcome-unknown`);
    await defaultClassifier({ ok: true, value: response }, 0);
    expect(await response.json()).toMatchObject({ status: 500 });
  });

  it('reads Idempotent-Replayed on a final answer', async () => {
    const replayed = new Response('{}', { status: 201, headers: { 'Idempotent-Replayed': 'true' } });
    expect(await defaultClassifier({ ok: true, value: replayed }, 0)).toEqual({ kind: 'success', status: 201, replayed: true });
    const axiosReplayed = { status: 201, headers: { 'idempotent-replayed': 'true' }, data: {} };
    expect(await defaultClassifier({ ok: true, value: axiosReplayed }, 0)).toEqual({ kind: 'success', status: 201, replayed: true });
  });
});
