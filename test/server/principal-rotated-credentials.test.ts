/**
 * The default principal is a hash of the credentials, so a credential that changes between
 * an attempt and its retry (an access token refreshed after the first answer was lost, a
 * rotated session id, the outbox replaying hours later with the current token) puts the
 * retry in another key space, where the handler runs again. README's Principal paragraph
 * says so and names the remedy these tests show: a `principal(req)` that returns the user.
 */
import type { IncomingMessage } from 'node:http';
import { afterEach, expect, it } from 'vitest';
import { idempotency, type IdempotencyOptions } from '../../src/server/index.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const servers: ListeningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** Alice's order, then its retry with the same key after her access token was refreshed. */
async function orderThenRetryAfterRefresh(options: IdempotencyOptions) {
  let runs = 0;
  const server = await startServer(
    idempotency(options).handler((_req, res) => {
      runs += 1;
      res.end('order placed');
    }),
  );
  servers.push(server);
  const send = (token: string) => post(`${server.url}/orders`, { key: 'k-1', body: { item: 'tea' }, headers: { Authorization: `Bearer ${token}`, 'X-User': 'alice' } });
  await send('access-1-for-alice');
  const retry = await send('access-2-for-alice');
  return { runs, replayed: retry.headers.get('idempotent-replayed') === 'true' };
}

it('by default a refreshed token is another caller: the retry runs on its own', async () => {
  expect(await orderThenRetryAfterRefresh({})).toEqual({ runs: 2, replayed: false });
});

it('with principal(req) returning the user, the retry after a refresh is replayed: one run', async () => {
  const principal = (req: IncomingMessage) => String(req.headers['x-user']);
  expect(await orderThenRetryAfterRefresh({ principal })).toEqual({ runs: 1, replayed: true });
});
