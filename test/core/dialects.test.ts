/**
 * Server dialects (issue 9), at the engine: "in progress" answers are waited out within
 * `inProgressTimeout` without spending attempts, a failure the server replays is final and
 * typed, and `keyReused` names another server's "key reused" answers. The real third-party
 * servers run in e2e/dialects.spec.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { defaultClassifier } from '../../src/core/classify.js';
import { createSubmitter, type AttemptContext } from '../../src/core/submitter.js';
import { memoryStore } from '../../src/core/store.js';
import type { SubmitEvent } from '../../src/core/events.js';
import { KeyReusedError, ReplayedFailureError, isSubmitOnceError } from '../../src/core/errors.js';

const intent = { method: 'POST', url: 'https://shop.test/orders', body: { sku: 'A', qty: 1 } };

const answer = (status: number, headers: Record<string, string> = {}, body = '{}') => new Response(body, { status, headers });
const REPLAYED = { 'Idempotent-Replayed': 'true' };

function scripted(outcomes: Array<Response | (() => Response)>) {
  const calls: AttemptContext[] = [];
  const send = vi.fn(async (ctx: AttemptContext) => {
    calls.push(ctx);
    const next = outcomes.shift() ?? answer(201);
    return typeof next === 'function' ? next() : next;
  });
  return { send, calls };
}

function setup(options: Parameters<typeof createSubmitter>[0] = {}) {
  const events: SubmitEvent[] = [];
  const submitter = createSubmitter({
    store: memoryStore(),
    locks: null,
    random: () => 0,
    retry: { attempts: 3, baseDelay: 1, maxDelay: 5 },
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { submitter, events };
}

describe('defaultClassifier: dialects', () => {
  it('marks a 409 as in progress, with or without Retry-After', async () => {
    expect(await defaultClassifier({ ok: true, value: answer(409) }, 0)).toMatchObject({ kind: 'ambiguous', status: 409, inProgress: true });
    expect(await defaultClassifier({ ok: true, value: answer(409, { 'Retry-After': '1' }) }, 0)).toMatchObject({ retryAfterMs: 1000, inProgress: true });
    expect(await defaultClassifier({ ok: true, value: answer(503) }, 0)).not.toHaveProperty('inProgress', true);
  });

  it('reads a replayed 5xx (or other retryable status) as a replayed failure, from fetch or axios', async () => {
    expect(await defaultClassifier({ ok: true, value: answer(503, REPLAYED) }, 0)).toEqual({ kind: 'replayed-failure', status: 503 });
    expect(await defaultClassifier({ ok: true, value: answer(429, REPLAYED) }, 0)).toEqual({ kind: 'replayed-failure', status: 429 });
    const axiosError = { response: { status: 500, headers: { 'idempotent-replayed': 'true' }, data: '<html>' } };
    expect(await defaultClassifier({ ok: false, error: axiosError }, 0)).toEqual({ kind: 'replayed-failure', status: 500 });
  });

  it('reads another server\'s key-reused answer by status list or predicate, and only then', async () => {
    const html = { 'content-type': 'text/html; charset=utf-8' };
    expect(await defaultClassifier({ ok: true, value: answer(417, html) }, 0)).toMatchObject({ kind: 'final', status: 417 });
    expect(await defaultClassifier({ ok: true, value: answer(417, html) }, 0, [417])).toEqual({ kind: 'key-reused', status: 417 });
    const htmlOnly = (a: { status: number; header(name: string): string | null }) =>
      a.status === 422 && (a.header('content-type') ?? '').startsWith('text/html');
    expect(await defaultClassifier({ ok: true, value: answer(422, html) }, 0, htmlOnly)).toEqual({ kind: 'key-reused', status: 422 });
    // An API's own 422 (validation, JSON) stays a final answer the caller reads.
    expect(await defaultClassifier({ ok: true, value: answer(422, { 'content-type': 'application/json' }) }, 0, htmlOnly)).toMatchObject({ kind: 'final' });
  });
});

describe('createSubmitter: in progress', () => {
  it('waits out a run of 409s without Retry-After longer than the attempts, and returns the created answer', async () => {
    const { submitter, events } = setup();
    const { send, calls } = scripted([answer(409), answer(409), answer(409), answer(409), answer(409), answer(201, {}, '{"id":1}')]);
    const response = await submitter.submit({ intent, send });
    expect(response.status).toBe(201);
    expect(await response.json()).toEqual({ id: 1 });
    expect(send).toHaveBeenCalledTimes(6);
    expect(new Set(calls.map((c) => c.key)).size).toBe(1);
    expect(events.filter((e) => e.type === 'retry').every((e) => e.type === 'retry' && e.status === 409)).toBe(true);
  });

  it('still spends the attempts on other ambiguous answers', async () => {
    const { submitter } = setup();
    const { send } = scripted([answer(409), answer(503), answer(409), answer(503), answer(503)]);
    const response = await submitter.submit({ intent, send });
    expect(response.status).toBe(503);
    // The two 409s are free, the three 503s are the three attempts.
    expect(send).toHaveBeenCalledTimes(5);
  });

  it('stops at inProgressTimeout, measured on the injected clock, and keeps the key', async () => {
    let clock = 0;
    const { submitter, events } = setup({ now: () => clock, inProgressTimeout: 10_000 });
    const send = vi.fn(async () => {
      clock += 4_000;
      return answer(409);
    });
    const response = await submitter.submit({ intent, send });
    expect(response.status).toBe(409);
    // First 409 at 4 s starts the clock; 8 s and 12 s are inside it; 16 s is past it.
    expect(send).toHaveBeenCalledTimes(4);
    expect(events.at(-1)).toMatchObject({ type: 'settled', outcome: 'ambiguous', status: 409 });
  });

  it('inProgressTimeout: 0 and retry: false hand back the first 409', async () => {
    for (const options of [{ inProgressTimeout: 0 }, { retry: false as const }]) {
      const { submitter } = setup(options);
      const { send } = scripted([answer(409), answer(201)]);
      expect((await submitter.submit({ intent, send })).status).toBe(409);
      expect(send).toHaveBeenCalledTimes(1);
    }
  });
});

describe('createSubmitter: a replayed failure', () => {
  it('stops at the first replay, throws ReplayedFailureError with the status, and the next submission is a new intent', async () => {
    const { submitter, events } = setup({ settleWindow: 0 });
    const { send, calls } = scripted([answer(503), answer(503, REPLAYED, '<html>stored</html>'), answer(201)]);
    const error: unknown = await submitter.submit({ intent, send }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReplayedFailureError);
    expect(isSubmitOnceError(error, 'replayed-failure')).toBe(true);
    expect(error).toMatchObject({ status: 503, key: calls[0]?.key });
    expect(await ((error as Error).cause as Response).text()).toBe('<html>stored</html>');
    expect(send).toHaveBeenCalledTimes(2);
    expect(events.at(-1)).toMatchObject({ type: 'settled', outcome: 'replayed-failure', status: 503 });

    await submitter.idle();
    const again = await submitter.submit({ intent, send });
    expect(again.status).toBe(201);
    expect(calls[2]?.key).not.toBe(calls[0]?.key);
  });

  it('gives a double-click inside the settle window the same error, sending nothing', async () => {
    const { submitter } = setup({ settleWindow: 60_000 });
    const { send } = scripted([answer(503, REPLAYED)]);
    const first = await submitter.submit({ intent, send }).catch((e: unknown) => e);
    const second = await submitter.submit({ intent, send }).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(ReplayedFailureError);
    expect(second).toBe(first);
    expect(send).toHaveBeenCalledTimes(1);
  });
});

describe('createSubmitter: keyReused', () => {
  it('turns the named answers into KeyReusedError', async () => {
    const { submitter } = setup({ keyReused: [417] });
    const { send } = scripted([answer(417, { 'content-type': 'text/html' })]);
    await expect(submitter.submit({ intent, send })).rejects.toBeInstanceOf(KeyReusedError);
  });
});
