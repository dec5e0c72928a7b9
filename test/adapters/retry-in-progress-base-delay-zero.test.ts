/**
 * `retry: { baseDelay: 0 }` and a server answering 409 "in progress" without Retry-After
 * (found in s39): in-progress waits spend no attempt, so only `inProgressTimeout` bounded
 * them, and the backoff at base 0 is 0 ms: about 400 requests a second against a busy
 * server for the whole timeout. In-progress waits now have a floor of their own
 * (`IN_PROGRESS_FLOOR`), a Retry-After under it included.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, it } from 'vitest';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { memoryStore } from '../../src/core/store.js';
import { DEFAULT_RETRY } from '../../src/core/retry.js';
import { IN_PROGRESS_FLOOR, inProgressWaits } from '../../src/core/in-progress.js';

it('a 409 without Retry-After at baseDelay: 0 is not polled in a tight loop', async () => {
  let requests = 0;
  const server = createServer((req, res) => {
    requests += 1;
    req.resume();
    res.writeHead(409).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const api = createIdempotentFetch({ store: memoryStore(), locks: null, inProgressTimeout: 1000, retry: { attempts: 3, baseDelay: 0 } });
    expect((await api(`http://127.0.0.1:${port}/orders`, { method: 'POST', body: 'x' })).status).toBe(409);
  } finally {
    server.close();
  }
  // Seen: several hundred requests in the second (each answered at once on loopback).
  expect(requests).toBeLessThanOrEqual(20);
});

it('a Retry-After under the floor is raised to it, and the waits stay jittered', () => {
  const retry = { ...DEFAULT_RETRY, baseDelay: 0 };
  const waits = [0, 0.5, 0.999].map((r) => inProgressWaits(10_000, retry, () => 0, () => r)(50)!);
  expect(Math.min(...waits)).toBeGreaterThanOrEqual(IN_PROGRESS_FLOOR);
  expect(new Set(waits).size).toBe(3);
  // Control: a Retry-After at or above the floor paces the polls as the server asks.
  expect(inProgressWaits(10_000, retry, () => 0, () => 0.5)(150)).toBe(150);
});
