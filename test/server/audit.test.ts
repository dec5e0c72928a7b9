import { afterEach, describe, expect, it } from 'vitest';
import { idempotency, type IdempotencyEvent } from '../../src/server/index.js';
import { manualClock, post, startServer, type TestServer } from './http-helpers.js';

const servers: TestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('audit', () => {
  it('does not count a run after a release as a duplicate', async () => {
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
    expect(mw.stats().totals).toMatchObject({ requests: 3, executions: 2, releases: 1, replays: 1, duplicateExecutions: 0 });
    expect(mw.stats().keys[0]).toMatchObject({ key: 'k', executions: 2, releases: 1, replays: 1, lastStatus: 201 });
  });

  it('counts a run that overlapped a lease-expired one as a duplicate, and refuses the late completion', async () => {
    const clock = manualClock();
    const events: IdempotencyEvent['type'][] = [];
    let finishFirst: (() => void) | undefined;
    let runs = 0;
    const mw = idempotency({ leaseMs: 1_000, now: clock.now, onEvent: (e) => events.push(e.type) });
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
    await new Promise((resolve) => setTimeout(resolve, 50));
    clock.advance(1_001);
    expect((await post(`${server.url}/slow`, { key: 'slow', body: {} })).text).toBe('second');
    finishFirst?.();
    expect((await first).text).toBe('first');
    expect(mw.stats().totals.duplicateExecutions).toBe(1);
    expect(events).toContain('lease-lost');
    expect((await post(`${server.url}/slow`, { key: 'slow', body: {} })).text).toBe('second');
  });
});
