/**
 * An upstream 502/504 (`answerLeavesOutcomeUnknown`) met by the cut watch: the caller
 * hangs up mid-body, or the upstream resets mid-body. Counted at the upstream: the key
 * turns unknown, the retry does not reach the origin again.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, type VerifierOptions } from '../../src/server/index.js';
import { startServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function setUp(ending: 'ends' | 'resets', options: VerifierOptions = {}): Promise<{ url: string; orders: () => number }> {
  let orders = 0;
  const upstream = await startServer((req, res) => {
    req.resume();
    req.on('end', () => {
      orders++;
      res.writeHead(502, { 'Content-Type': 'text/plain' });
      res.write('bad gateway, part 1\n');
      setTimeout(() => (ending === 'ends' ? res.end('part 2\n') : res.socket?.destroy()), 150);
    });
  });
  const verifier = createVerifier({ ...options, upstream: upstream.url });
  running.push(verifier, upstream);
  return { url: await verifier.listen(0), orders: () => orders };
}

async function hangUpAfterFirstChunk(url: string, key: string): Promise<void> {
  const abort = new AbortController();
  const res = await fetch(`${url}/orders`, { method: 'POST', headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' }, body: '{}', signal: abort.signal });
  await res.body!.getReader().read();
  abort.abort();
}

describe('proxy: an upstream 502 meets a cut', () => {
  it.each([
    ['ends', false],
    ['resets', false],
    ['ends', true],
    ['resets', true],
  ] as const)('the caller hangs up mid-body, the upstream then %s (recovery: %s): the retry reaches the origin only as a recovery run', async (ending, recovery) => {
    const { url, orders } = await setUp(ending, { recovery });
    await hangUpAfterFirstChunk(url, 'k');
    await sleep(400);
    if (recovery) {
      // Under recovery an unknown key runs again, marked as a recovery (its answer cut again here).
      await post(`${url}/orders`, { key: 'k', body: {} }).catch(() => undefined);
      expect(orders()).toBe(2);
    } else {
      const retry = await post(`${url}/orders`, { key: 'k', body: {} });
      expect([retry.status, retry.json().type]).toEqual([500, 'https://submit-once.dev/problems/outcome-unknown']);
      expect(orders()).toBe(1);
    }
  });
});
