/**
 * A `Retry-After` HTTP-date read on a client whose clock is minutes off (a phone set by
 * hand, a VM resumed): against the client's own clock, the pause the server asked for was
 * a retry at once (clock ahead) or past `maxRetryAfter`, no retry at all (clock behind).
 * The answer's `Date` (sent by every origin with a clock, RFC 9110 §6.6.1) is the server's
 * clock, the one the date was written on.
 */
import { afterEach, expect, it } from 'vitest';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { memoryStore } from '../../src/core/store.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
let arrivals: number[] = [];
afterEach(() => {
  arrivals = [];
});

/** Answers the first request 429, retry in 2 s as an HTTP-date (Node adds its `Date`), the next 201. */
const limited = () =>
  serve((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    if (arrivals.length === 1) res.writeHead(429, { 'retry-after': new Date(Date.now() + 2000).toUTCString() }).end();
    else res.writeHead(201).end('ok');
  });

const skewed = (offset: number) =>
  createIdempotentFetch({ store: memoryStore(), locks: null, now: () => Date.now() + offset, retry: { attempts: 2, baseDelay: 100, maxDelay: 100 } });

it.each([
  ['ten minutes ahead', 10 * 60_000],
  ['ten minutes behind', -10 * 60_000],
])('a client clock %s waits the pause the server asked for, then retries once', async (_, offset) => {
  const url = await limited();
  expect((await skewed(offset)(`${url}/orders`, { method: 'POST', body: 'x' })).status).toBe(201);
  expect(arrivals).toHaveLength(2);
  // Whole seconds on both headers: 1 to 2 s.
  expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(900);
});

it('control: a client clock in step', async () => {
  const url = await limited();
  expect((await skewed(0)(`${url}/orders`, { method: 'POST', body: 'x' })).status).toBe(201);
  expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(900);
});
