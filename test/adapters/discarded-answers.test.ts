/**
 * An answer the engine retries past (a 503, a 409 "in progress") is never the caller's: its
 * body was left unread, and undici (Node's fetch) keeps the connection of an unread body
 * busy until garbage collection. A large error page held a socket per retry.
 */
import { expect, it } from 'vitest';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
const BIG = Buffer.alloc(8 * 1024 * 1024, 'x');

/** Answers `statuses` in turn, each with an 8 MB body; `done[i]`: the i-th answer's connection is let go. */
async function origin(statuses: number[]) {
  const done: boolean[] = [];
  const url = await serve((req, res) => {
    const i = done.length;
    done.push(false);
    res.on('close', () => (done[i] = true));
    req.resume();
    res.writeHead(statuses[i] ?? 201).end(BIG);
  });
  return { url, done };
}

const api = () => createIdempotentFetch({ store: memoryStore(), locks: null, retry: { attempts: 3, baseDelay: 1, maxDelay: 2 } });
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

it('a retried 503 has its body cancelled: its connection is let go', async () => {
  const { url, done } = await origin([503, 201]);
  const response = await api()(`${url}/orders`, { method: 'POST', body: 'x' });
  expect(response.status).toBe(201);
  await settle();
  expect(done[0]).toBe(true);
  expect((await response.arrayBuffer()).byteLength).toBe(BIG.length);
});

it('control: the last answer, handed to the caller after the retries, keeps its body', async () => {
  const { url, done } = await origin([503, 503, 503]);
  const response = await api()(`${url}/orders`, { method: 'POST', body: 'x' });
  expect(response.status).toBe(503);
  await settle();
  expect(done.slice(0, 2)).toEqual([true, true]);
  expect((await response.arrayBuffer()).byteLength).toBe(BIG.length);
});
