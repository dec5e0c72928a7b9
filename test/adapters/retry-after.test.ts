/**
 * `Retry-After` as the origin sees it: when the retry arrives after the answer that asked
 * for the wait. V8's `Date.parse` reads many values that are no HTTP-date (`-5`, `1.5`,
 * `1,5`) as dates long past: the retry went at once, hammering a server that had asked
 * for a pause.
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

/** A server answering the first request 429 with `retryAfter`, the next ones 201. */
const limited = (retryAfter: string) =>
  serve((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    if (arrivals.length === 1) res.writeHead(429, { 'retry-after': retryAfter }).end();
    else res.writeHead(201).end('ok');
  });

/** Without a usable Retry-After the backoff applies: its ceiling here, 400 ms. */
const api = () => createIdempotentFetch({ store: memoryStore(), locks: null, random: () => 0.999, retry: { attempts: 2, baseDelay: 400, maxDelay: 400 } });
const gap = () => arrivals[1]! - arrivals[0]!;

it.each([
  ['0.6', 'a fraction of seconds, as axios-retry reads it', 550],
  ['-5', 'negative: not a delay, the backoff applies', 350],
  ['1,5', 'garbage Date.parse reads as a date: the backoff applies', 350],
  ['+5', 'not delay-seconds, nor a date: the backoff applies', 350],
])('Retry-After: %s (%s)', async (value, _, atLeast) => {
  const url = await limited(value);
  expect((await api()(`${url}/orders`, { method: 'POST', body: 'x' })).status).toBe(201);
  expect(arrivals).toHaveLength(2);
  expect(gap()).toBeGreaterThanOrEqual(atLeast);
});

it('controls: whole seconds, an HTTP-date, a date past (retried at once)', async () => {
  const seconds = await limited('1');
  await api()(`${seconds}/orders`, { method: 'POST', body: 'x' });
  expect(gap()).toBeGreaterThanOrEqual(950);
  arrivals = [];
  const date = await limited(new Date(Date.now() + 2000).toUTCString());
  await api()(`${date}/orders`, { method: 'POST', body: 'x' });
  // An HTTP-date has whole seconds: 1 to 2 s from now.
  expect(gap()).toBeGreaterThanOrEqual(900);
  arrivals = [];
  const past = await limited('Wed, 21 Oct 2015 07:28:00 GMT');
  await api()(`${past}/orders`, { method: 'POST', body: 'x' });
  expect(gap()).toBeLessThan(300);
});

it('a 409 "in progress" with Retry-After: 0 is polled with the backoff, not in a tight loop', async () => {
  // Its waits spend no attempt, so nothing else bounds them: 0 ms each was ~170 requests a
  // second for the whole inProgressTimeout (10 s by default) against a server that is busy.
  const url = await serve((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    res.writeHead(409, { 'retry-after': '0' }).end();
  });
  const polling = createIdempotentFetch({ store: memoryStore(), locks: null, inProgressTimeout: 1000, retry: { attempts: 3, baseDelay: 100, maxDelay: 1000 } });
  expect((await polling(`${url}/orders`, { method: 'POST', body: 'x' })).status).toBe(409);
  // Equal jitter over 100, 200, 400, 800 ms ceilings: 5 to 8 requests in the second.
  expect(arrivals.length).toBeLessThanOrEqual(10);
});

it('a 409 "in progress" with a Retry-After of a fraction of a millisecond to a few ms (0.001) is polled with the backoff too', async () => {
  // Fractions are read since 0a4c815 (as axios-retry reads them), and only 0 fell back to
  // the backoff: 0.001 s was a 1 ms wait that spends no attempt, ~360 requests in the second.
  const url = await serve((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    res.writeHead(409, { 'retry-after': '0.001' }).end();
  });
  const polling = createIdempotentFetch({ store: memoryStore(), locks: null, inProgressTimeout: 1000, retry: { attempts: 3, baseDelay: 100, maxDelay: 1000 } });
  expect((await polling(`${url}/orders`, { method: 'POST', body: 'x' })).status).toBe(409);
  expect(arrivals.length).toBeLessThanOrEqual(10);
});

it('control: a 409 "in progress" whose Retry-After is at least the base delay is paced by it', async () => {
  const url = await serve((req, res) => {
    arrivals.push(performance.now());
    req.resume();
    res.writeHead(arrivals.length === 1 ? 409 : 201, { 'retry-after': '0.4' }).end();
  });
  const polling = createIdempotentFetch({ store: memoryStore(), locks: null, inProgressTimeout: 5000, retry: { attempts: 3, baseDelay: 100, maxDelay: 1000 } });
  expect((await polling(`${url}/orders`, { method: 'POST', body: 'x' })).status).toBe(201);
  expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(390);
});
