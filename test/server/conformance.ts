import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { idempotency, type IdempotencyOptions, type IdempotentRequest } from '../../src/server/index.js';
import type { ClaimRequest, ClaimResult, CompleteRequest, IdempotencyStore, StoredResponse } from '../../src/server/stores/types.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { manualClock, sleep } from '../helpers/clock.js';

/** A claim as the middleware makes it; tests override what they need. */
export function claimOf(key: string, now: number, extra: Partial<ClaimRequest> = {}): ClaimRequest {
  return { key, fingerprint: 'fp', leaseMs: 5_000, retentionMs: 60_000, now, recover: false, ...extra };
}

const okResponse = { status: 200, headers: {}, body: new Uint8Array([1]) };

/** How the suite gets stores: a fresh, empty one per test, and for durable stores the same data reopened. */
export interface StoreHarness {
  readonly name: string;
  create(): Promise<IdempotencyStore>;
  /** Closes `store` and opens a new instance on the same backing data (a process restart). */
  reopen?(store: IdempotencyStore): Promise<IdempotencyStore>;
}

interface Rig {
  readonly url: string;
  readonly store: IdempotencyStore;
  readonly executions: () => number;
  readonly clock: ReturnType<typeof manualClock>;
}

type Behaviour = (req: IdempotentRequest, res: ServerResponse, execution: number) => unknown;

const createdOrder: Behaviour = (req, res, n) => {
  res.statusCode = 201;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Location', `/orders/${n}`);
  res.setHeader('Set-Cookie', 'session=secret');
  res.setHeader('X-Internal', 'not-replayed');
  // Random bytes in the body: a replay that re-ran the handler could not match.
  res.end(JSON.stringify({ id: n, nonce: Math.random(), got: req.body }));
};

/**
 * The one suite every store must pass, through the real middleware on a real HTTP
 * server: replay, races, payload mismatch, malformed keys, leases, release on throw,
 * principals, retention, and for durable stores a restart.
 */
export function runConformance(harness: StoreHarness): void {
  describe(`conformance: ${harness.name} store`, () => {
    const cleanup: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const fn of cleanup.splice(0).reverse()) await fn();
    });

    async function rig(
      behaviour: Behaviour = createdOrder,
      options: Omit<IdempotencyOptions, 'store' | 'now'> = {},
      existing?: IdempotencyStore,
    ): Promise<Rig> {
      const store = existing ?? (await harness.create());
      const clock = manualClock();
      let executions = 0;
      const mw = idempotency({ ...options, store, now: clock.now });
      const server: ListeningServer = await startServer(mw.handler((req, res) => behaviour(req, res, ++executions)));
      cleanup.push(async () => {
        await server.close();
        await store.close();
      });
      return { url: `${server.url}/orders`, store, executions: () => executions, clock };
    }

    it('runs the first request and replays repeats byte for byte with Idempotent-Replayed', async () => {
      const r = await rig();
      const first = await post(r.url, { key: 'k-1', body: { item: 'tea', qty: 2 } });
      expect(first.status).toBe(201);
      expect(first.headers.get('idempotent-replayed')).toBeNull();
      for (let i = 0; i < 3; i++) {
        const again = await post(r.url, { key: 'k-1', body: { item: 'tea', qty: 2 } });
        expect(again.status).toBe(201);
        expect(again.headers.get('idempotent-replayed')).toBe('true');
        expect(Buffer.from(again.bytes).equals(Buffer.from(first.bytes))).toBe(true);
        expect(again.headers.get('location')).toBe('/orders/1');
        expect(again.headers.get('content-type')).toBe('application/json');
        expect(again.headers.get('set-cookie')).toBeNull();
        expect(again.headers.get('x-internal')).toBeNull();
      }
      expect(r.executions()).toBe(1);
    });

    it('treats JSON key order as the same payload and a quoted key as the same key', async () => {
      const r = await rig();
      const first = await post(r.url, { key: 'same', raw: '{"a":1,"b":{"c":2,"d":3}}', headers: { 'Content-Type': 'application/json' } });
      const reordered = await post(r.url, { key: '"same"', raw: '{ "b": {"d":3,"c":2}, "a": 1 }', headers: { 'Content-Type': 'application/json' } });
      expect(reordered.status).toBe(first.status);
      expect(reordered.text).toBe(first.text);
      expect(reordered.headers.get('idempotent-replayed')).toBe('true');
      expect(r.executions()).toBe(1);
    });

    it('runs the handler exactly once for 50 concurrent requests with one key', async () => {
      const r = await rig(async (req, res, n) => {
        await sleep(60);
        createdOrder(req, res, n);
      });
      const answers = await Promise.all(Array.from({ length: 50 }, () => post(r.url, { key: 'race', body: { item: 'tea' } })));
      expect(r.executions()).toBe(1);
      const created = answers.filter((a) => a.status === 201 && a.headers.get('idempotent-replayed') === null);
      expect(created).toHaveLength(1);
      for (const a of answers) {
        if (a.status === 409) {
          expect(a.headers.get('retry-after')).toMatch(/^\d+$/);
          expect(a.json().type).toBe('https://submit-once.dev/problems/request-in-progress');
        } else {
          expect(a.status).toBe(201);
          expect(a.text).toBe(created[0]?.text);
        }
      }
      expect(answers.some((a) => a.status === 409)).toBe(true);
    });

    it('makes exactly one of 50 simultaneous claims win at the store', async () => {
      const store = await harness.create();
      cleanup.push(() => store.close());
      const now = Date.now();
      const results = await Promise.all(
        Array.from({ length: 50 }, () => store.claim(claimOf('direct', now))),
      );
      expect(results.filter((c) => c.status === 'claimed')).toHaveLength(1);
      expect(results.filter((c) => c.status === 'in-progress')).toHaveLength(49);
    });

    it('answers 422 key-reused when a key comes back with another payload', async () => {
      const r = await rig();
      expect((await post(r.url, { key: 'k-2', body: { item: 'tea' } })).status).toBe(201);
      const other = await post(r.url, { key: 'k-2', body: { item: 'coffee' } });
      expect(other.status).toBe(422);
      expect(other.headers.get('content-type')).toBe('application/problem+json');
      expect(other.json().type).toBe('https://submit-once.dev/problems/key-reused');
      const otherQuery = await post(`${r.url}?coupon=x`, { key: 'k-2', body: { item: 'tea' } });
      expect(otherQuery.status).toBe(422);
      expect(r.executions()).toBe(1);
    });

    it('answers 400 for missing and malformed keys without running the handler', async () => {
      const r = await rig();
      const missing = await post(r.url, { body: {} });
      expect(missing.status).toBe(400);
      expect(missing.json().type).toBe('https://submit-once.dev/problems/key-missing');
      for (const key of ['', '   ', 'x'.repeat(256), 'has space', '"unterminated', '"a"b"', 'caf\u00e9']) {
        const answer = await post(r.url, { key, body: {} }).catch(() => undefined);
        // fetch itself refuses some header values; those never reach the server.
        if (answer === undefined) continue;
        expect(answer.status, `key ${JSON.stringify(key)}`).toBe(400);
        expect(answer.json().type).toBe('https://submit-once.dev/problems/key-malformed');
      }
      expect((await post(r.url, { key: 'x'.repeat(255), body: {} })).status).toBe(201);
      expect(r.executions()).toBe(1);
    });

    it('answers 500 outcome-unknown, never a rerun, once the lease of a dead claim has run out', async () => {
      const r = await rig(createdOrder, { leaseMs: 2_000 });
      // A process that claimed this key and died: nothing will complete or renew it.
      const storageKey = JSON.stringify([null, 'POST', '/orders', 'crashed']);
      const fingerprintOfTea = await fingerprintOf(r, { item: 'tea' });
      const dead = await r.store.claim(claimOf(storageKey, r.clock.now(), { fingerprint: fingerprintOfTea, leaseMs: 2_000 }));
      expect(dead.status).toBe('claimed');
      const during = await post(r.url, { key: 'crashed', body: { item: 'tea' } });
      expect(during.status).toBe(409);
      r.clock.advance(2_001);
      for (let i = 0; i < 2; i++) {
        const after = await post(r.url, { key: 'crashed', body: { item: 'tea' } });
        expect(after.status).toBe(500);
        expect(after.headers.get('content-type')).toBe('application/problem+json');
        expect(after.json().type).toBe('https://submit-once.dev/problems/outcome-unknown');
      }
      // Another payload under the same key is still a reuse.
      expect((await post(r.url, { key: 'crashed', body: { item: 'cake' } })).status).toBe(422);
      expect(r.executions()).toBe(0);
    });

    it('with recovery: true runs a dead claim again once, as a recovery run that knows its key', async () => {
      const seen: Array<IdempotentRequest['idempotency']> = [];
      const r = await rig((req, res, n) => {
        seen.push(req.idempotency);
        createdOrder(req, res, n);
      }, { leaseMs: 2_000, recovery: true });
      const storageKey = JSON.stringify([null, 'POST', '/orders', 'crashed']);
      const fingerprintOfTea = await fingerprintOf(r, { item: 'tea' });
      const dead = await r.store.claim(claimOf(storageKey, r.clock.now(), { fingerprint: fingerprintOfTea, leaseMs: 2_000 }));
      expect((await post(r.url, { key: 'crashed', body: { item: 'tea' } })).status).toBe(409);
      r.clock.advance(2_001);
      const after = await post(r.url, { key: 'crashed', body: { item: 'tea' } });
      expect(after.status).toBe(201);
      expect(after.headers.get('idempotent-replayed')).toBeNull();
      expect((await post(r.url, { key: 'fresh', body: { item: 'tea' } })).status).toBe(201);
      expect(seen).toEqual([
        { key: 'crashed', principal: undefined, recovery: true },
        { key: 'fresh', principal: undefined, recovery: false },
      ]);
      // The dead holder cannot overwrite the new outcome.
      const lateComplete = dead.status === 'claimed'
        ? await r.store.complete({ key: storageKey, token: dead.token, fingerprint: fingerprintOfTea, response: okResponse, retentionMs: 1_000, now: r.clock.now() })
        : true;
      expect(lateComplete).toBe(false);
      expect((await post(r.url, { key: 'crashed', body: { item: 'tea' } })).text).toBe(after.text);
      expect(r.executions()).toBe(2);
    });

    it('releases the key at once when the handler throws or answers 5xx', async () => {
      const r = await rig((req, res, n) => {
        if (n === 1) throw new Error('boom');
        if (n === 2) return Promise.reject(new Error('async boom'));
        if (n === 3) {
          res.statusCode = 503;
          res.end('try later');
          return undefined;
        }
        return createdOrder(req, res, n);
      });
      const thrown = await post(r.url, { key: 'k-3', body: { item: 'tea' } });
      expect(thrown.status).toBe(500);
      expect(thrown.json().type).toBe('https://submit-once.dev/problems/handler-failed');
      expect((await post(r.url, { key: 'k-3', body: { item: 'tea' } })).status).toBe(500);
      expect((await post(r.url, { key: 'k-3', body: { item: 'tea' } })).status).toBe(503);
      const ok = await post(r.url, { key: 'k-3', body: { item: 'tea' } });
      expect(ok.status).toBe(201);
      expect(r.executions()).toBe(4);
      expect((await post(r.url, { key: 'k-3', body: { item: 'tea' } })).headers.get('idempotent-replayed')).toBe('true');
      expect(r.executions()).toBe(4);
    });

    it('stores a 5xx when releaseOn5xx is false, and stores 4xx always', async () => {
      const r = await rig((req, res, n) => {
        res.statusCode = n === 1 ? 502 : 404;
        res.end(`answer ${n}`);
      }, { releaseOn5xx: false });
      expect((await post(r.url, { key: 'a', body: {} })).text).toBe('answer 1');
      expect((await post(r.url, { key: 'a', body: {} })).text).toBe('answer 1');
      expect((await post(r.url, { key: 'b', body: {} })).status).toBe(404);
      expect((await post(r.url, { key: 'b', body: {} })).text).toBe('answer 2');
      expect(r.executions()).toBe(2);
    });

    it("keeps one principal's keys invisible to another", async () => {
      const r = await rig(createdOrder, { principal: (req) => req.headers['x-user'] as string | undefined });
      const a = await post(r.url, { key: 'shared', body: { item: 'tea' }, headers: { 'X-User': 'alice' } });
      const b = await post(r.url, { key: 'shared', body: { item: 'tea' }, headers: { 'X-User': 'bob' } });
      expect(a.status).toBe(201);
      expect(b.status).toBe(201);
      expect(b.headers.get('idempotent-replayed')).toBeNull();
      expect(b.text).not.toBe(a.text);
      expect(r.executions()).toBe(2);
      // Another payload under B's space does not collide with A's record either way.
      expect((await post(r.url, { key: 'shared', body: { item: 'tea' }, headers: { 'X-User': 'alice' } })).text).toBe(a.text);
    });

    it('forgets a completed key after its retention, not before', async () => {
      const r = await rig(createdOrder, { ttl: 60_000 });
      const first = await post(r.url, { key: 'k-4', body: {} });
      r.clock.advance(59_000);
      expect((await post(r.url, { key: 'k-4', body: {} })).text).toBe(first.text);
      r.clock.advance(1_001);
      const later = await post(r.url, { key: 'k-4', body: {} });
      expect(later.status).toBe(201);
      expect(later.headers.get('idempotent-replayed')).toBeNull();
      expect(r.executions()).toBe(2);
    });

    it('sweeps expired records', async () => {
      const store = await harness.create();
      cleanup.push(() => store.close());
      const now = Date.now();
      const claim = await store.claim(claimOf('old', now, { leaseMs: 1_000 }));
      if (claim.status !== 'claimed') throw new Error('expected a claim');
      await store.complete({ key: 'old', token: claim.token, fingerprint: 'fp', response: okResponse, retentionMs: 1_000, now });
      await store.claim(claimOf('new', now, { leaseMs: 60_000 }));
      // A dead claim is kept (as unknown) for its retention after its lease.
      await store.claim(claimOf('dead', now, { leaseMs: 1_000, retentionMs: 1_000 }));
      expect(await store.sweep(now + 1_500)).toBeGreaterThanOrEqual(1);
      const again = await store.claim(claimOf('old', now + 1_500, { fingerprint: 'fp2' }));
      expect(again.status).toBe('claimed');
      expect((await store.claim(claimOf('new', now + 1_500))).status).toBe('in-progress');
      expect((await store.claim(claimOf('dead', now + 1_500))).status).toBe('unknown');
      expect(await store.sweep(now + 2_001)).toBeGreaterThanOrEqual(1);
      expect((await store.claim(claimOf('dead', now + 2_001))).status).toBe('claimed');
    });

    describe('state machine', () => {
      async function fresh(): Promise<IdempotencyStore> {
        const store = await harness.create();
        cleanup.push(() => store.close());
        return store;
      }
      const claimed = (result: ClaimResult): ClaimResult & { status: 'claimed' } => {
        if (result.status !== 'claimed') throw new Error(`expected a claim, got ${result.status}`);
        return result;
      };
      const settle = (key: string, token: string, now: number) => ({ key, token, retentionMs: 60_000, now });

      it('turns a claim whose lease ran out into unknown, not free, and keeps it for its retention', async () => {
        const store = await fresh();
        const now = Date.now();
        const first = claimed(await store.claim(claimOf('k', now, { leaseMs: 1_000, retentionMs: 10_000 })));
        expect(first).toMatchObject({ executions: 1, rerun: 'none' });
        expect(first.token.startsWith('1.')).toBe(true);
        expect((await store.claim(claimOf('k', now + 999))).status).toBe('in-progress');
        expect(await store.claim(claimOf('k', now + 1_000))).toEqual({ status: 'unknown', fingerprint: 'fp', executions: 1 });
        expect((await store.claim(claimOf('k', now + 10_999))).status).toBe('unknown');
        expect(claimed(await store.claim(claimOf('k', now + 11_000)))).toMatchObject({ executions: 1, rerun: 'none' });
      });

      it('recovers an unknown claim only when asked and only for the same fingerprint, with a new fencing token', async () => {
        const store = await fresh();
        const now = Date.now();
        const first = claimed(await store.claim(claimOf('k', now, { leaseMs: 1_000 })));
        const later = now + 1_001;
        expect((await store.claim(claimOf('k', later, { recover: true, fingerprint: 'other' }))).status).toBe('unknown');
        const second = claimed(await store.claim(claimOf('k', later, { recover: true })));
        expect(second).toMatchObject({ executions: 2, rerun: 'recovery' });
        expect(second.token.startsWith('2.')).toBe(true);
        expect(second.token).not.toBe(first.token);
        // The stale holder can do nothing any more.
        expect(await store.renew({ key: 'k', token: first.token, leaseMs: 1_000, now: later })).toBe(false);
        expect(await store.release(settle('k', first.token, later))).toBe(false);
        expect(await store.markUnknown(settle('k', first.token, later))).toBe(false);
        expect(await store.complete({ key: 'k', token: first.token, fingerprint: 'fp', response: okResponse, retentionMs: 60_000, now: later })).toBe(false);
        expect((await store.claim(claimOf('k', later))).status).toBe('in-progress');
        expect(await store.complete({ key: 'k', token: second.token, fingerprint: 'fp', response: okResponse, retentionMs: 60_000, now: later })).toBe(true);
        expect(await store.claim(claimOf('k', later))).toMatchObject({ status: 'completed', executions: 2 });
      });

      it('gives exactly one of 50 concurrent recovering claims the expired key', async () => {
        const store = await fresh();
        const now = Date.now();
        claimed(await store.claim(claimOf('k', now, { leaseMs: 1_000 })));
        const results = await Promise.all(Array.from({ length: 50 }, () => store.claim(claimOf('k', now + 2_000, { recover: true }))));
        expect(results.filter((c) => c.status === 'claimed')).toHaveLength(1);
        expect(results.filter((c) => c.status === 'in-progress')).toHaveLength(49);
      });

      it('accepts the late completion of a holder nobody took over, and refuses it after a takeover', async () => {
        const store = await fresh();
        const now = Date.now();
        const slow = claimed(await store.claim(claimOf('late', now, { leaseMs: 1_000 })));
        expect((await store.claim(claimOf('late', now + 5_000))).status).toBe('unknown');
        expect(await store.complete({ key: 'late', token: slow.token, fingerprint: 'fp', response: okResponse, retentionMs: 60_000, now: now + 5_000 })).toBe(true);
        expect((await store.claim(claimOf('late', now + 5_000))).status).toBe('completed');
      });

      it('answers through `sync`, when it has it, what `claim` and `complete` answer', async ({ skip }) => {
        const atOnce = await fresh();
        const sync = atOnce.sync;
        if (sync === undefined) return skip();
        const promised = await fresh();
        const now = Date.now();
        const response: StoredResponse = { status: 201, headers: { 'content-type': 'text/plain' }, body: Buffer.from('made') };
        // One script of claims and completions, each step's answer without its token (unique per claim).
        const script = async (claim: (r: ClaimRequest) => ClaimResult | Promise<ClaimResult>, complete: (token: string, at: number) => boolean | Promise<boolean>) => {
          const seen: unknown[] = [];
          const step = async (r: ClaimRequest) => {
            const result = await claim(r);
            const { token, ...rest } = result as ClaimResult & { token?: string };
            seen.push(rest.status === 'completed' ? { ...rest, response: { ...rest.response, body: Buffer.from(rest.response.body).toString() } } : rest);
            return token ?? '';
          };
          const first = await step(claimOf('k', now));
          await step(claimOf('k', now + 1));
          seen.push(await complete(`${first}x`, now + 2));
          seen.push(await complete(first, now + 2));
          await step(claimOf('k', now + 3));
          await step(claimOf('k', now + 3, { fingerprint: 'other' }));
          const dead = await step(claimOf('dead', now, { leaseMs: 10 }));
          await step(claimOf('dead', now + 100));
          await step(claimOf('dead', now + 100, { recover: true }));
          seen.push(dead.length > 0);
          return seen;
        };
        const completeOn = (store: { complete(r: CompleteRequest): boolean | Promise<boolean> }) => (token: string, at: number) =>
          store.complete({ key: 'k', token, fingerprint: 'fp', response, retentionMs: 60_000, now: at });
        // A store may answer its claim alone at once (the file store): its completion then goes through the promise,
        // and a claim it cannot answer at once (undefined) too, as the middleware does.
        const viaSync = await script((r) => sync.claim(r) ?? atOnce.claim(r), completeOn(sync.complete === undefined ? atOnce : sync));
        const viaPromises = await script((r) => promised.claim(r), completeOn(promised));
        expect(viaSync).toEqual(viaPromises);
        expect(viaSync).toContainEqual(expect.objectContaining({ status: 'completed' }));
      });

      it('gives back the stored response exactly: status, list headers, body bytes, and the size of a body not kept', async () => {
        const store = await fresh();
        const now = Date.now();
        const responses: StoredResponse[] = [
          { status: 201, headers: { 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] }, body: Buffer.from([0, 255, 34, 92, 10]) },
          { status: 200, headers: {}, body: Buffer.alloc(0), omittedBodyBytes: 2_000_000 },
        ];
        for (const [i, response] of responses.entries()) {
          const key = `exact-${i}`;
          const { token } = claimed(await store.claim(claimOf(key, now)));
          expect(await store.complete({ key, token, fingerprint: 'fp', response, retentionMs: 60_000, now })).toBe(true);
          const replay = await store.claim(claimOf(key, now + 1));
          if (replay.status !== 'completed') throw new Error(`expected completed, got ${replay.status}`);
          expect({ ...replay.response, body: Buffer.from(replay.response.body) }).toEqual({ ...response, body: Buffer.from(response.body) });
        }
      });

      it('marks a running claim unknown at once (fenced), and lets its holder complete it after all', async () => {
        const store = await fresh();
        const now = Date.now();
        const run = claimed(await store.claim(claimOf('m', now, { leaseMs: 60_000 })));
        expect(await store.markUnknown(settle('m', 'stale.token', now))).toBe(false);
        expect(await store.markUnknown(settle('m', run.token, now))).toBe(true);
        expect((await store.claim(claimOf('m', now + 1))).status).toBe('unknown');
        // Once unknown, it is neither released nor renewed: the effect may have happened.
        expect(await store.release(settle('m', run.token, now + 1))).toBe(false);
        expect(await store.renew({ key: 'm', token: run.token, leaseMs: 60_000, now: now + 1 })).toBe(false);
        expect((await store.claim(claimOf('m', now + 2))).status).toBe('unknown');
        expect(await store.complete({ key: 'm', token: run.token, fingerprint: 'fp', response: okResponse, retentionMs: 60_000, now: now + 2 })).toBe(true);
        expect((await store.claim(claimOf('m', now + 3))).status).toBe('completed');
      });

      it('renews a running claim for its holder only', async () => {
        const store = await fresh();
        const now = Date.now();
        const run = claimed(await store.claim(claimOf('r', now, { leaseMs: 1_000 })));
        expect(await store.renew({ key: 'r', token: 'x', leaseMs: 1_000, now: now + 900 })).toBe(false);
        expect(await store.renew({ key: 'r', token: run.token, leaseMs: 1_000, now: now + 900 })).toBe(true);
        expect((await store.claim(claimOf('r', now + 1_500))).status).toBe('in-progress');
        expect((await store.claim(claimOf('r', now + 1_900))).status).toBe('unknown');
      });

      it('counts every run of a key, and tells a rerun after a release', async () => {
        const store = await fresh();
        const now = Date.now();
        const first = claimed(await store.claim(claimOf('c', now)));
        expect(await store.release(settle('c', 'stale.token', now))).toBe(false);
        expect(await store.release(settle('c', first.token, now))).toBe(true);
        const second = claimed(await store.claim(claimOf('c', now + 1)));
        expect(second).toMatchObject({ executions: 2, rerun: 'after-release' });
        // The released token is stale too.
        expect(await store.complete({ key: 'c', token: first.token, fingerprint: 'fp', response: okResponse, retentionMs: 60_000, now })).toBe(false);
        expect(await store.complete({ key: 'c', token: second.token, fingerprint: 'fp', response: okResponse, retentionMs: 60_000, now })).toBe(true);
        expect(await store.claim(claimOf('c', now + 2))).toMatchObject({ status: 'completed', executions: 2 });
      });
    });

    if (harness.reopen !== undefined) {
      const reopen = harness.reopen;
      it('keeps a completed key across a restart', async () => {
        const store = await harness.create();
        const first = await rig(createdOrder, {}, store);
        const original = await post(first.url, { key: 'durable', body: { item: 'tea' } });
        expect(original.status).toBe(201);
        // The rig's cleanup closes the old instance; a fresh one reads the same data.
        const reopened = await reopen(store);
        const second = await rig(createdOrder, {}, reopened);
        const replayed = await post(second.url, { key: 'durable', body: { item: 'tea' } });
        expect(replayed.status).toBe(201);
        expect(replayed.headers.get('idempotent-replayed')).toBe('true');
        expect(Buffer.from(replayed.bytes).equals(Buffer.from(original.bytes))).toBe(true);
        expect(second.executions()).toBe(0);
      });

      it('keeps execution counts and unknown outcomes across a restart', async () => {
        const store = await harness.create();
        const now = Date.now();
        const first = await store.claim(claimOf('counted', now));
        if (first.status !== 'claimed') throw new Error('expected a claim');
        await store.release({ key: 'counted', token: first.token, retentionMs: 60_000, now });
        const second = await store.claim(claimOf('counted', now));
        if (second.status !== 'claimed') throw new Error('expected a claim');
        await store.complete({ key: 'counted', token: second.token, fingerprint: 'fp', response: okResponse, retentionMs: 60_000, now });
        await store.claim(claimOf('running', now, { leaseMs: 1_000 }));
        const reopened = await reopen(store);
        cleanup.push(() => reopened.close());
        expect(await reopened.claim(claimOf('counted', now + 1))).toMatchObject({ status: 'completed', executions: 2 });
        expect(await reopened.claim(claimOf('running', now + 1_001))).toEqual({ status: 'unknown', fingerprint: 'fp', executions: 1 });
        expect(await reopened.claim(claimOf('running', now + 1_001, { recover: true }))).toMatchObject({ status: 'claimed', executions: 2, rerun: 'recovery' });
      });
    }
  });
}

/** The fingerprint the middleware computes for a POST /orders with this JSON body. */
async function fingerprintOf(_r: Rig, body: unknown): Promise<string> {
  const { payloadFingerprint } = await import('../../src/server/fingerprint.js');
  return payloadFingerprint({ method: 'POST', path: '/orders', query: '', body });
}
