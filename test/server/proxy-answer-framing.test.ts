/**
 * An upstream answer cut mid-body, counted at the upstream (it runs once either way), and
 * what the retry gets. A framed answer (Content-Length, chunked) cut short is told from a
 * whole one: the key turns unknown. A close-delimited one (HTTP/1.0, or `Connection: close`
 * without a length) ends where the connection ends: a FIN mid-body looks like its end to
 * Node too (`complete` is true, no 'aborted'), so it is stored and replayed as whole. This
 * file pins that; the README says an upstream must frame its answers.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';

const running: Array<{ close(): unknown }> = [];
afterEach(async () => {
  for (const s of running.splice(0)) await s.close();
});

/** A verifier in front of a raw TCP upstream that answers each request with `answer`. */
async function proxyingTo(answer: (socket: Socket) => void): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const upstream = createServer((socket) => {
    hits++;
    socket.once('data', () => answer(socket));
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  running.push({ close: () => new Promise((resolve) => upstream.close(resolve)) });
  const verifier = createVerifier({ upstream: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}` });
  running.push(verifier);
  return { url: await verifier.listen(0), hits: () => hits };
}

const HEAD_10 = 'HTTP/1.0 201 Created\r\nContent-Type: application/json\r\n';
const HEAD_11 = 'HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\n';

describe('proxy: an upstream answer cut mid-body', () => {
  it.each([
    ['Content-Length', `${HEAD_11}Content-Length: 20\r\n\r\n{"id":1,"ite`],
    ['chunked', `${HEAD_11}Transfer-Encoding: chunked\r\n\r\nc\r\n{"id":1,"ite\r\n`],
  ])('framed (%s), cut by the upstream closing: the retry gets outcome-unknown, the upstream ran once', async (_, cut) => {
    const { url, hits } = await proxyingTo((socket) => socket.end(cut));
    await post(`${url}/orders`, { key: 'k', body: {} }).catch(() => undefined);
    const retry = await post(`${url}/orders`, { key: 'k', body: {} });
    expect([retry.status, retry.json().type]).toEqual([500, 'https://submit-once.dev/problems/outcome-unknown']);
    expect(hits()).toBe(1);
  });

  it('close-delimited, cut by a reset: the retry gets outcome-unknown, the upstream ran once', async () => {
    const { url, hits } = await proxyingTo((socket) => {
      socket.write(`${HEAD_10}\r\n{"id":1,"ite`);
      setTimeout(() => socket.resetAndDestroy(), 20);
    });
    await post(`${url}/orders`, { key: 'k', body: {} }).catch(() => undefined);
    const retry = await post(`${url}/orders`, { key: 'k', body: {} });
    expect([retry.status, retry.json().type]).toEqual([500, 'https://submit-once.dev/problems/outcome-unknown']);
    expect(hits()).toBe(1);
  });

  it('close-delimited (HTTP/1.0, no length), cut by the upstream closing: cannot be told from its end, so stored and replayed as whole (pinned)', async () => {
    const { url, hits } = await proxyingTo((socket) => socket.end(`${HEAD_10}\r\n{"id":1,"ite`));
    const first = await post(`${url}/orders`, { key: 'k', body: {} });
    const retry = await post(`${url}/orders`, { key: 'k', body: {} });
    expect([first.status, first.text]).toEqual([201, '{"id":1,"ite']);
    expect([retry.status, retry.headers.get('idempotent-replayed'), retry.text]).toEqual([201, 'true', '{"id":1,"ite']);
    expect(hits()).toBe(1);
  });
});
