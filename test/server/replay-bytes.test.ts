/**
 * The bytes of a replay against the bytes of the first answer, read off the wire: what
 * is the same, and what a replay does not carry (the reason phrase, trailers, framing).
 */
import type { ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { fileStore, idempotency, memoryStore, type IdempotencyOptions, type IdempotencyStore } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();

/** The raw answer to `method /orders` with the key, read until the server closes. */
function exchange(url: string, method: string, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(url).port), '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(`${method} /orders HTTP/1.1\r\nHost: x\r\nIdempotency-Key: ${key}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
  });
}

const stores: Array<[string, () => IdempotencyStore]> = [
  ['memory store', () => memoryStore()],
  [
    'file store (the end waits for its fdatasync)',
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'replay-bytes-'));
      const store = fileStore(join(dir, 'keys.jsonl'), { sweepIntervalMs: 0 });
      onTestFinished(async () => {
        await store.close?.();
        rmSync(dir, { recursive: true, force: true });
      });
      return store;
    },
  ],
];

/** The status line and the header lines, lower-cased names, without Date and the replay mark. */
const head = (answer: string): string[] => {
  const [status, ...lines] = answer.split('\r\n\r\n')[0]!.split('\r\n');
  return [status!, ...lines.map((line) => line.replace(/^[^:]+/, (name) => name.toLowerCase())).filter((line) => !/^(date|idempotent-replayed):/.test(line)).sort()];
};

const guarded = async (store: IdempotencyStore, handler: (res: ServerResponse) => void, options: IdempotencyOptions = {}): Promise<string> =>
  serve(idempotency({ store, ...options }).handler((_req, res) => handler(res)));

describe.each(stores)('a replay against the first answer (%s)', (_name, makeStore) => {
  it('HEAD (a guarded method): no Content-Length for a body that never went out, on the first answer or its replay', async () => {
    const url = await guarded(makeStore(), (res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.end('body');
    }, { methods: ['HEAD'] });
    const first = await exchange(url, 'HEAD', 'head');
    const again = await exchange(url, 'HEAD', 'head');
    expect(again).toContain('Idempotent-Replayed: true');
    expect(head(first)).toEqual(['HTTP/1.1 200 OK', 'connection: close', 'content-type: text/plain']);
    expect(head(again)).toEqual(head(first));
  });

  it('a custom reason phrase goes out on the first answer; a replay has the standard one (RFC 9110: clients ignore it)', async () => {
    const url = await guarded(makeStore(), (res) => {
      res.writeHead(201, 'Order Placed', { 'Content-Type': 'text/plain' });
      res.end('made');
    });
    const first = await exchange(url, 'POST', 'reason');
    const again = await exchange(url, 'POST', 'reason');
    expect(first.split('\r\n')[0]).toBe('HTTP/1.1 201 Order Placed');
    expect(again.split('\r\n')[0]).toBe('HTTP/1.1 201 Created');
    expect(again.endsWith('\r\n\r\nmade')).toBe(true);
  });

  it("an informational 103 (writeEarlyHints) goes out on the first answer only; the final answer is replayed", async () => {
    const url = await guarded(makeStore(), (res) => {
      res.writeEarlyHints({ link: '</order.css>; rel=preload' });
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      res.end('made');
    });
    const first = await exchange(url, 'POST', 'hints');
    const again = await exchange(url, 'POST', 'hints');
    expect(first.startsWith('HTTP/1.1 103 Early Hints\r\nLink: </order.css>; rel=preload\r\n\r\nHTTP/1.1 201 Created\r\n')).toBe(true);
    expect(head(again)).toEqual(['HTTP/1.1 201 Created', 'connection: close', 'content-length: 4', 'content-type: text/plain']);
    expect(again.endsWith('\r\n\r\nmade')).toBe(true);
  });

  it('framing headers named in replayHeaders are not replayed: never Transfer-Encoding beside the replay\'s Content-Length', async () => {
    const url = await guarded(makeStore(), (res) => {
      res.setHeader('Transfer-Encoding', 'chunked');
      res.setHeader('Content-Type', 'text/plain');
      res.end('abc');
    }, { replayHeaders: ['Transfer-Encoding', 'Trailer', 'Upgrade', 'Keep-Alive'] });
    const first = await exchange(url, 'POST', 'framing');
    const again = await exchange(url, 'POST', 'framing');
    expect(first).toContain('\r\nTransfer-Encoding: chunked\r\n');
    expect(head(again)).toEqual(['HTTP/1.1 200 OK', 'connection: close', 'content-length: 3', 'content-type: text/plain']);
    expect(again.endsWith('\r\n\r\nabc')).toBe(true);
  });

  it('trailers go out on the first answer, not on a replay: its body, whole, with a Content-Length', async () => {
    const url = await guarded(makeStore(), (res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain', Trailer: 'X-Checksum' });
      res.write('ab');
      res.addTrailers({ 'X-Checksum': 'c1' });
      res.end('c');
    });
    const first = await exchange(url, 'POST', 'trailers');
    const again = await exchange(url, 'POST', 'trailers');
    expect(first.endsWith('2\r\nab\r\n1\r\nc\r\n0\r\nX-Checksum: c1\r\n\r\n')).toBe(true);
    expect(head(again)).toEqual(['HTTP/1.1 200 OK', 'connection: close', 'content-length: 3', 'content-type: text/plain']);
    expect(again.endsWith('\r\n\r\nabc')).toBe(true);
  });
});
