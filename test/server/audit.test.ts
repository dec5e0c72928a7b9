import { afterEach, describe, expect, it } from 'vitest';
import { idempotency, type IdempotencyEvent } from '../../src/server/index.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { manualClock } from '../helpers/clock.js';

const servers: ListeningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('audit', () => {
  it('counts a run after a release as a rerun after release', async () => {
    let runs = 0;
    const mw = idempotency();
    const server = await startServer(mw.handler((_req, res) => {
      res.statusCode = ++runs === 1 ? 500 : 201;
      res.end(String(runs));
    }));
    servers.push(server);
    await post(`${server.url}/pay`, { key: 'k', body: {} });
    await post(`${server.url}/pay`, { key: 'k', body: {} });
    await post(`${server.url}/pay`, { key: 'k', body: {} });
    expect(mw.stats().totals).toMatchObject({ requests: 3, executions: 2, releases: 1, replays: 1, rerunsAfterRelease: 1, recoveryRuns: 0 });
    expect(mw.stats().keys[0]).toMatchObject({ key: 'k', executions: 2, storeExecutions: 2, releases: 1, rerunsAfterRelease: 1, replays: 1, lastStatus: 201 });
  });

  it('answers outcome-unknown for a run whose lease ran out, never runs it again, and accepts its late completion', async () => {
    const clock = manualClock();
    const events: IdempotencyEvent['type'][] = [];
    let finishFirst: (() => void) | undefined;
    let runs = 0;
    const mw = idempotency({ leaseMs: 60_000, now: clock.now, onEvent: (e) => events.push(e.type) });
    const server = await startServer(mw.handler((_req, res) => {
      const run = ++runs;
      if (run === 1) {
        // A handler far slower than its lease, on a clock the renewal timer never catches up with.
        finishFirst = () => res.end('first');
        return;
      }
      res.end('second');
    }));
    servers.push(server);
    const first = post(`${server.url}/slow`, { key: 'slow', body: {} });
    while (runs === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    clock.advance(60_001);
    const meanwhile = await post(`${server.url}/slow`, { key: 'slow', body: {} });
    expect(meanwhile.status).toBe(500);
    expect(meanwhile.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
    finishFirst?.();
    expect((await first).text).toBe('first');
    // Nobody took over, so the late completion tells the truth and is kept.
    expect((await post(`${server.url}/slow`, { key: 'slow', body: {} })).text).toBe('first');
    expect(runs).toBe(1);
    expect(mw.stats().totals).toMatchObject({ executions: 1, unknownOutcomes: 1, recoveryRuns: 0, replays: 1 });
    expect(events).toEqual(['executed', 'outcome-unknown', 'completed', 'replayed']);
  });

  it('counts recovery runs, and takes the per-key count from the store', async () => {
    const clock = manualClock();
    let runs = 0;
    const mw = idempotency({ leaseMs: 60_000, now: clock.now, recovery: true });
    const server = await startServer(mw.handler((_req, res) => {
      if (++runs === 1) return; // never answers: its process "died"
      res.end('recovered');
    }));
    servers.push(server);
    void post(`${server.url}/slow`, { key: 'r', body: {} }).catch(() => undefined);
    while (runs === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    clock.advance(60_001);
    expect((await post(`${server.url}/slow`, { key: 'r', body: {} })).text).toBe('recovered');
    expect(mw.stats().totals).toMatchObject({ executions: 2, recoveryRuns: 1, rerunsAfterRelease: 0 });
    expect(mw.stats().keys[0]).toMatchObject({ executions: 2, storeExecutions: 2, recoveryRuns: 1 });
  });

  it('keeps at most auditLimit per-key records, dropping the oldest first, while the totals count every key', async () => {
    const mw = idempotency({ auditLimit: 3 });
    const server = await startServer(mw.handler((_req, res) => {
      res.statusCode = 201;
      res.end('ok');
    }));
    servers.push(server);
    for (const key of ['a', 'b', 'c', 'd', 'b']) await post(`${server.url}/pay`, { key, body: {} });
    // `b` came back after `a` was dropped: its record stays where it was made.
    expect(mw.stats().keys.map((k) => [k.key, k.executions, k.replays])).toEqual([['b', 1, 1], ['c', 1, 0], ['d', 1, 0]]);
    for (const key of ['e', 'f', 'g', 'h']) await post(`${server.url}/pay`, { key, body: {} });
    expect(mw.stats().keys.map((k) => k.key)).toEqual(['f', 'g', 'h']);
    expect(mw.stats().totals).toMatchObject({ requests: 9, executions: 8, replays: 1 });
    mw.resetStats();
    for (const key of ['x', 'y', 'z', 'w']) await post(`${server.url}/pay`, { key, body: {} });
    expect(mw.stats().keys.map((k) => k.key)).toEqual(['y', 'z', 'w']);
  });

  it('gives every key its whole record: run once, running, replayed, with and without a principal', async () => {
    let release: (() => void) | undefined;
    const mw = idempotency({ principal: (req) => (req.headers['x-user'] as string | undefined) ?? undefined });
    const server = await startServer(mw.handler((req, res) => {
      res.statusCode = req.url === '/accepted' ? 202 : 201;
      if (req.url === '/slow') release = () => res.end('slow');
      else res.end('ok');
    }));
    servers.push(server);
    await post(`${server.url}/pay`, { key: 'once', body: {} });
    await post(`${server.url}/accepted`, { key: 'u"1', body: {}, headers: { 'x-user': 'ann "a" \\ é' } });
    await post(`${server.url}/pay`, { key: 'twice', body: {} });
    await post(`${server.url}/pay`, { key: 'twice', body: {} });
    const slow = post(`${server.url}/slow`, { key: 'running', body: {} });
    while (release === undefined) await new Promise((resolve) => setTimeout(resolve, 5));
    const zero = { replays: 0, conflicts: 0, mismatches: 0, releases: 0, rerunsAfterRelease: 0, recoveryRuns: 0, unknownOutcomes: 0 };
    const expected = [
      { key: 'once', method: 'POST', route: '/pay', executions: 1, storeExecutions: 1, ...zero, lastStatus: 201 },
      { key: 'u"1', principal: 'ann "a" \\ é', method: 'POST', route: '/accepted', executions: 1, storeExecutions: 1, ...zero, lastStatus: 202 },
      { key: 'twice', method: 'POST', route: '/pay', executions: 1, storeExecutions: 1, ...zero, replays: 1, lastStatus: 201 },
      { key: 'running', method: 'POST', route: '/slow', executions: 1, storeExecutions: 1, ...zero },
    ];
    expect(mw.stats().keys).toStrictEqual(expected);
    // A snapshot is a copy: changing it changes nothing kept.
    (mw.stats().keys[0] as { executions: number }).executions = 9;
    release();
    await slow;
    expected[3] = { ...expected[3]!, lastStatus: 201 };
    expect(mw.stats().keys).toStrictEqual(expected);
    expect('lastStatus' in mw.stats().keys[0]!).toBe(true);
  });
  it('records a completion under its own key when the key was dropped or given a record object while it ran', async () => {
    const releases = new Map<string, () => void>();
    const mw = idempotency({ auditLimit: 2 });
    const server = await startServer(mw.handler((req, res) => {
      if (req.url !== '/slow') {
        res.statusCode = 201;
        res.end('ok');
        return;
      }
      res.statusCode = 203;
      releases.set(req.headers['idempotency-key'] as string, () => res.end('slow'));
    }));
    servers.push(server);
    const running = async (key: string): Promise<{ answer: Promise<unknown>; release: () => void }> => {
      const answer = post(`${server.url}/slow`, { key, body: {} });
      while (!releases.has(key)) await new Promise((resolve) => setTimeout(resolve, 5));
      return { answer, release: releases.get(key)! };
    };

    // Dropped while it ran: its place now holds another key, whose status must not change.
    const dropped = await running('dropped');
    await post(`${server.url}/pay`, { key: 'x', body: {} });
    await post(`${server.url}/pay`, { key: 'y', body: {} });
    dropped.release();
    await dropped.answer;
    expect(mw.stats().keys.map((k) => [k.key, k.executions, k.lastStatus])).toEqual([['y', 1, 201], ['dropped', 0, 203]]);

    // Given a record object while it ran (a 409): the completion lands in that record.
    mw.resetStats();
    const conflicted = await running('conflicted');
    expect((await post(`${server.url}/slow`, { key: 'conflicted', body: {} })).status).toBe(409);
    conflicted.release();
    await conflicted.answer;
    expect(mw.stats().keys.map((k) => [k.key, k.executions, k.conflicts, k.lastStatus])).toEqual([['conflicted', 1, 1, 203]]);
  });
});
