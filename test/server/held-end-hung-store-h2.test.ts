import type { ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { idempotency, memoryStore, type IdempotencyStore } from '../../src/server/index.js';

describe('HTTP/2: a held end whose store never answers, the caller cancels its stream', () => {
  it("the server's stream is destroyed", async () => {
    const { sync: _sync, ...rest } = memoryStore();
    let completes = 0;
    const store: IdempotencyStore = { ...rest, complete: () => { completes += 1; return new Promise<boolean>(() => undefined); } };
    const streams: http2.ServerHttp2Stream[] = [];
    const server = http2.createServer(
      idempotency({ store }).handler((_req, res: ServerResponse) => {
        res.statusCode = 201;
        res.end('{"id":"o1"}');
      }) as unknown as Parameters<typeof http2.createServer>[0],
    );
    server.on('stream', (s) => streams.push(s));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    onTestFinished(() => { client.destroy(); server.close(); });
    const stream = client.request({ ':method': 'POST', ':path': '/orders', 'idempotency-key': 'h2-hung', 'content-type': 'application/json' });
    stream.on('error', () => undefined);
    stream.end('{}');
    await vi.waitFor(() => expect(completes).toBe(1));
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await vi.waitFor(() => expect(streams[0]?.destroyed).toBe(true), { timeout: 2000 });
  });
});
