/**
 * An unkeyed request (PUT, DELETE, GET…) through the proxy is read whole up to its fixed
 * 10 MiB; a larger one got 500 handler-failed ("The request failed.") before, and is
 * answered 413 body-too-large naming the limit now, nothing sent upstream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../src/server/index.js';
import { startServer } from '../helpers/http-server.js';

const running: Verifier[] = [];
afterEach(async () => {
  for (const v of running.splice(0)) await v.close();
});

describe('proxy: an unkeyed body over the proxy limit', () => {
  it('is answered 413 body-too-large, not 500 handler-failed', async () => {
    let reached = 0;
    const upstream = await startServer((req, res) => {
      reached++;
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    try {
      const verifier = createVerifier({ upstream: upstream.url });
      running.push(verifier);
      const url = await verifier.listen(0);
      const res = await fetch(`${url}/upload`, { method: 'PUT', body: new Uint8Array(11 * 1024 * 1024) });
      const problem = (await res.json()) as { type: string };
      expect([res.status, problem.type]).toEqual([413, 'https://submit-once.dev/problems/body-too-large']);
      expect(reached).toBe(0);
    } finally {
      await upstream.close();
    }
  });
});
