/**
 * The proxy's memory with a slow caller: past what would be stored for the replay anyway
 * (`maxResponseBytes`), the upstream is read only as fast as the caller reads, instead of
 * being read whole into the caller's send buffer. The bytes still arrive exactly.
 */
import { createHash } from 'node:crypto';
import { request, type IncomingMessage } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../src/server/index.js';
import { sleep } from '../helpers/clock.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';

const MIB = 1024 * 1024;
const TOTAL = 96 * MIB;
const CHUNK = 64 * 1024;

/** An upstream that streams TOTAL bytes as fast as it is read, counting what it could hand to its socket. */
async function bigUpstream(): Promise<{ server: ListeningServer; sent: () => number; finished: Promise<void>; digest: string }> {
  let sent = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const chunkAt = (i: number): Buffer => Buffer.alloc(CHUNK, i % 251);
  const hash = createHash('sha256');
  for (let i = 0; i < TOTAL / CHUNK; i++) hash.update(chunkAt(i));
  const server = await startServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    let i = 0;
    const pump = (): void => {
      while (i < TOTAL / CHUNK) {
        const ok = res.write(chunkAt(i++));
        sent += CHUNK;
        if (!ok) return void res.once('drain', pump);
      }
      res.end(finish);
    };
    pump();
    res.on('close', finish);
  });
  return { server, sent: () => sent, finished, digest: hash.digest('hex') };
}

function postKeyed(url: string, key: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/report`, { method: 'POST', headers: { 'Idempotency-Key': key, 'Content-Type': 'application/json' } }, resolve);
    req.on('error', reject);
    req.end('{}');
  });
}

describe('proxy backpressure', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function setup(): Promise<{ url: string; verifier: Verifier; upstream: Awaited<ReturnType<typeof bigUpstream>> }> {
    const upstream = await bigUpstream();
    const verifier = createVerifier({ upstream: upstream.server.url, maxResponseBytes: MIB });
    const url = await verifier.listen(0);
    cleanup.push(() => upstream.server.close(), () => verifier.close());
    return { url, verifier, upstream };
  }

  it('reads the upstream no further ahead of a caller that stops reading than the replay limit and the sockets hold; the caller then gets every byte', async () => {
    const { url, upstream } = await setup();
    const answer = await postKeyed(url, 'slow');
    answer.pause();
    await sleep(1_500);
    // 96 MiB without backpressure; the replay limit (1 MiB) plus what two loopback links buffer with it.
    expect(upstream.sent()).toBeLessThan(40 * MIB);
    const hash = createHash('sha256');
    let received = 0;
    answer.on('data', (chunk: Buffer) => {
      received += chunk.length;
      hash.update(chunk);
    });
    answer.resume();
    await new Promise((resolve) => answer.on('end', resolve));
    expect(received).toBe(TOTAL);
    expect(hash.digest('hex')).toBe(upstream.digest);
  }, 30_000);

  it('still reads an answer within the replay limit at once: stored while its caller has not read it, a retry replays it', async () => {
    const small = 512 * 1024;
    const upstream = await startServer((req, res) => {
      req.resume();
      res.end(Buffer.alloc(small, 7));
    });
    const verifier = createVerifier({ upstream: upstream.url, maxResponseBytes: MIB });
    const url = await verifier.listen(0);
    cleanup.push(() => upstream.close(), () => verifier.close());
    const answer = await postKeyed(url, 'small');
    answer.pause();
    await sleep(300);
    const replay = await post(`${url}/report`, { key: 'small', body: {} });
    expect([replay.status, replay.headers.get('idempotent-replayed'), replay.text.length]).toEqual([200, 'true', small]);
    answer.destroy();
  });

  it('a caller stalled past maxRunMs leaves the key outcome-unknown (the upstream ran; its answer was not all read)', async () => {
    const upstream = await bigUpstream();
    const verifier = createVerifier({ upstream: upstream.server.url, maxResponseBytes: MIB, maxRunMs: 500, leaseMs: 200 });
    const url = await verifier.listen(0);
    cleanup.push(() => upstream.server.close(), () => verifier.close());
    const answer = await postKeyed(url, 'stalled');
    answer.pause();
    answer.on('error', () => undefined);
    await sleep(1_500);
    const retry = await post(`${url}/report`, { key: 'stalled', body: {} });
    expect([retry.status, retry.json().type]).toEqual([500, 'https://submit-once.dev/problems/outcome-unknown']);
    expect(verifier.stats().totals).toMatchObject({ executions: 1 });
    answer.destroy();
  }, 30_000);

  it('reads the upstream to its end when the slow caller hangs up, so the run completes (its replay: 410, over the limit)', async () => {
    const { url, verifier, upstream } = await setup();
    const answer = await postKeyed(url, 'gone');
    answer.pause();
    await sleep(300);
    answer.destroy();
    await Promise.race([upstream.finished, sleep(10_000)]);
    expect(upstream.sent()).toBe(TOTAL);
    // The upstream's last bytes are sent before the proxy has read them and completed the
    // run: until then the key answers 409 (seen under load with a fixed 100 ms wait).
    let replay = await post(`${url}/report`, { key: 'gone', body: {} });
    for (let waited = 0; replay.status === 409 && waited < 10_000; waited += 100) {
      await sleep(100);
      replay = await post(`${url}/report`, { key: 'gone', body: {} });
    }
    expect(replay.status).toBe(410);
    expect(verifier.stats().totals).toMatchObject({ executions: 1, unknownOutcomes: 0 });
  }, 30_000);
});
