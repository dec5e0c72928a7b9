/**
 * `verifier.close({ graceMs })` in front of a store that answers over a network (Redis,
 * Postgres): its claims and settlements take a round trip. What is in flight in the store
 * counts as work in flight, and the store closes only after it: a claim that resolves after
 * the close would run the handler (send the request upstream) with nowhere to store its
 * answer, and a cut run's `markUnknown` that lands after it would leave the key in progress.
 */
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, memoryStore, type Verifier } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { sleep } from '../helpers/clock.js';

const running: Verifier[] = [];
afterEach(async () => {
  for (const v of running.splice(0)) await v.close().catch(() => undefined);
});

/**
 * A memory store answering each call after `delayMs`, as one across a network does; once
 * closed it refuses every call, as a closed Redis or Postgres client does. `log` names each
 * call as it is answered, and `close`.
 */
function networkStore(delayMs: number): { store: IdempotencyStore; inner: IdempotencyStore; log: string[] } {
  const inner = memoryStore();
  const log: string[] = [];
  let closed = false;
  const later = <A, R>(name: string, call: (arg: A) => Promise<R>) => async (arg: A): Promise<R> => {
    await sleep(delayMs);
    if (closed) {
      log.push(`${name} after close`);
      throw new Error('Connection is closed.');
    }
    log.push(name);
    return call(arg);
  };
  // Spread: without the memory store's non-enumerable `sync`, every call goes through these.
  const store: IdempotencyStore = {
    ...inner,
    name: 'network',
    claim: later('claim', inner.claim),
    complete: later('complete', inner.complete),
    release: later('release', inner.release),
    markUnknown: later('markUnknown', inner.markUnknown),
    renew: later('renew', inner.renew),
    close: async () => {
      closed = true;
      log.push('close');
    },
  };
  return { store, inner, log };
}

describe('verifier.close() in front of a store that answers over a network', () => {
  it('waits for a claim in flight whose caller hung up: the upstream gets the request before the store closes, and its answer is stored', async () => {
    let hits = 0;
    const { store, log } = networkStore(300);
    const upstream = await startServer((req, res) => {
      hits++;
      log.push('upstream');
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    try {
      const verifier = createVerifier({ upstream: upstream.url, store });
      const url = await verifier.listen(0);
      const abort = new AbortController();
      const call = fetch(`${url}/orders`, { method: 'POST', headers: { 'Idempotency-Key': 'k', 'Content-Type': 'application/json' }, body: '{}', signal: abort.signal }).catch(() => 'aborted');
      await sleep(100);
      abort.abort();
      expect(await call).toBe('aborted');
      await verifier.close({ graceMs: 5_000 });
      await sleep(700);
      expect(hits).toBe(1);
      expect(log).toEqual(['claim', 'upstream', 'complete', 'close']);
    } finally {
      await upstream.close();
    }
  });

  it('a run cut at the end of the grace period is unknown in the store once close() resolves, not in progress until its lease runs out', async () => {
    const { store, inner, log } = networkStore(100);
    let runs = 0;
    const handler = (_req: unknown, res: ServerResponse): void => {
      runs++;
      res.writeHead(201);
      res.write('part');
      // Never ends: the grace period runs out.
    };
    const verifier = createVerifier({ store, handler });
    const url = await verifier.listen(0);
    const call = post(`${url}/orders`, { key: 'k', body: {} }).catch(() => 'cut');
    await sleep(300);
    await verifier.close({ graceMs: 50 });
    await call;
    expect(log).toEqual(['claim', 'markUnknown', 'close']);
    expect(runs).toBe(1);
    // A second verifier on the same store (as another instance on the same Redis): the retry.
    const next = createVerifier({ store: inner, handler });
    running.push(next);
    const retry = await post(`${await next.listen(0)}/orders`, { key: 'k', body: {} });
    expect([retry.status, retry.json().type]).toEqual([500, 'https://submit-once.dev/problems/outcome-unknown']);
    expect(runs).toBe(1);
  });

  it('a claim answered after the cut does not start its handler: nothing goes upstream, and the key is free for the retry', async () => {
    let hits = 0;
    const { store, inner, log } = networkStore(300);
    const upstream = await startServer((req, res) => {
      hits++;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    try {
      const verifier = createVerifier({ upstream: upstream.url, store });
      const url = await verifier.listen(0);
      const call = post(`${url}/orders`, { key: 'k', body: {} }).then(() => 'answered', () => 'cut');
      await sleep(100);
      // SIGTERM with --shutdown-grace-ms 0, or a second signal, while the claim is in flight.
      await verifier.close({ graceMs: 0 });
      expect(await call).toBe('cut');
      await sleep(500);
      expect(hits).toBe(0);
      expect(log).toEqual(['claim', 'release', 'close']);
      const next = createVerifier({ upstream: upstream.url, store: inner });
      running.push(next);
      const retry = await post(`${await next.listen(0)}/orders`, { key: 'k', body: {} });
      expect([retry.status, retry.text, hits]).toEqual([200, 'ok', 1]);
    } finally {
      await upstream.close();
    }
  });
});
