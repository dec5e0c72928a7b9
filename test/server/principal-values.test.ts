/**
 * What a `principal` function may hand back. Its type says a string (or undefined, or a
 * promise of one), but from JavaScript, or through a promise library (Bluebird, a query
 * builder's thenable), other values arrive: none may merge two callers' key spaces.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { IncomingMessage } from 'node:http';
import { idempotency, type IdempotencyOptions } from '../../src/server/index.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const servers: ListeningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

/** A server whose handler counts its runs per caller, with the given principal function. */
async function origin(principal: NonNullable<IdempotencyOptions['principal']>) {
  const runs: string[] = [];
  const server = await startServer(
    idempotency({ principal }).handler((req, res) => {
      runs.push(String(req.headers['x-user']));
      res.end(`order for ${String(req.headers['x-user'])}`);
    }),
  );
  servers.push(server);
  const send = (user: string) => post(`${server.url}/orders`, { key: 'one-key', body: { item: 'tea' }, headers: { 'X-User': user } });
  return { runs, send };
}

const userOf = (req: IncomingMessage) => String(req.headers['x-user']);

describe('a principal function', () => {
  it('handing back a thenable that is not a native promise: it is waited for, so two users keep their own keys', async () => {
    // What a promise library returns: `instanceof Promise` is false.
    const thenable = (value: string) => ({ then: (resolve: (v: string) => void) => setTimeout(() => resolve(value), 1) });
    const { runs, send } = await origin((req) => thenable(userOf(req)) as unknown as Promise<string>);
    expect((await send('alice')).text).toBe('order for alice');
    const mallory = await send('mallory');
    expect(mallory.headers.get('idempotent-replayed')).toBeNull();
    expect(mallory.text).toBe('order for mallory');
    expect(runs).toEqual(['alice', 'mallory']);
  });

  it('handing back an object (a user record, not its id): refused with 500, nothing runs, no shared key space', async () => {
    class User {
      readonly #id: string;
      constructor(id: string) {
        this.#id = id;
      }
      get id(): string {
        return this.#id;
      }
    }
    const { runs, send } = await origin((req) => new User(userOf(req)) as unknown as string);
    const alice = await send('alice');
    expect(alice.status).toBe(500);
    expect(alice.json().type).toBe('https://submit-once.dev/problems/handler-failed');
    expect(alice.json().detail).toMatch(/principal/);
    expect((await send('mallory')).status).toBe(500);
    expect(runs).toEqual([]);
  });

  it('resolving a promise to an object or a boolean: refused the same way', async () => {
    for (const value of [{}, true]) {
      const { runs, send } = await origin(async () => value as unknown as string);
      expect((await send('alice')).status).toBe(500);
      expect(runs).toEqual([]);
    }
  });

  it('(control) a number, a string, undefined and null still scope as before', async () => {
    for (const principal of [(req: IncomingMessage) => userOf(req).length as unknown as string, userOf, () => undefined, () => null as unknown as undefined]) {
      const { runs, send } = await origin(principal);
      expect((await send('alice')).status).toBe(200);
      expect((await send('alice')).headers.get('idempotent-replayed')).toBe('true');
      expect(runs).toHaveLength(1);
    }
  });
});
