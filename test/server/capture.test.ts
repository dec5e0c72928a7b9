import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { idempotency } from '../../src/server/index.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const servers: ListeningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('response capture alongside other wrappers of the response', () => {
  it('works under a second guard and under a middleware that wraps end itself: each sees its own calls', async () => {
    let runs = 0;
    const ended: string[] = [];
    const outer = idempotency();
    const inner = idempotency({ header: 'X-Inner-Key' });
    // A compression-like middleware between the two guards: it wraps `end` on the instance.
    const wrapEnd = (res: ServerResponse): void => {
      const end = res.end;
      res.end = function (this: ServerResponse, ...args: unknown[]) {
        ended.push(String(args[0]));
        return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
      } as ServerResponse['end'];
    };
    const server = await startServer(
      outer.handler((req, res) => {
        wrapEnd(res);
        return inner.handler((_req, innerRes) => {
          runs++;
          innerRes.writeHead(201, { 'Content-Type': 'text/plain' });
          innerRes.write('order ');
          innerRes.end(String(runs));
        })(req, res);
      }),
    );
    servers.push(server);
    const send = () => post(`${server.url}/orders`, { key: 'k', body: { item: 'tea' }, headers: { 'X-Inner-Key': 'i' } });
    const first = await send();
    expect(first.status).toBe(201);
    expect(first.text).toBe('order 1');
    const second = await send();
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.text).toBe('order 1');
    expect(second.headers.get('content-type')).toBe('text/plain');
    expect(runs).toBe(1);
    expect(ended).toEqual(['1']);
    expect(outer.stats().totals).toMatchObject({ executions: 1, replays: 1 });
    expect(inner.stats().totals).toMatchObject({ executions: 1 });
  });
});
