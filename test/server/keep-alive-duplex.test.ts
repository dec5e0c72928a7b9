/**
 * HTTP/1 served over a connection that is a stream but no `net.Socket` (a `duplexPair`
 * handed to the server's 'connection' event, as a tunnel or an in-process transport does):
 * it still serves many requests, so the cut watch must wrap its `destroy` once, not once
 * per request (each wrapper kept its request's capture alive, and the chain grew until a
 * destroy overflowed the stack).
 */
import http from 'node:http';
import { duplexPair, type Duplex } from 'node:stream';
import { describe, expect, it, onTestFinished } from 'vitest';
import { idempotency } from '../../src/server/index.js';

/** Sends one request on `client` and reads its answer (Content-Length framed). */
function roundTrip(client: Duplex, key: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = '';
    const onData = (chunk: Buffer): void => {
      received += chunk.toString('latin1');
      const head = received.indexOf('\r\n\r\n');
      if (head === -1) return;
      const length = Number(/content-length: (\d+)/i.exec(received.slice(0, head))?.[1] ?? 0);
      if (received.length < head + 4 + length) return;
      client.off('data', onData);
      client.off('close', onClose);
      resolve(received.slice(0, received.indexOf('\r\n')));
    };
    const onClose = (): void => reject(new Error(`closed after: ${received}`));
    client.on('data', onData);
    client.once('close', onClose);
    client.write(`POST /orders HTTP/1.1\r\nHost: local\r\nIdempotency-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`);
  });
}

describe('HTTP/1 over a stream that is no net.Socket', () => {
  it("a handler's destroy of its connection after 15000 requests on it does not overflow the stack", { timeout: 30_000 }, async () => {
    const REQUESTS = 15_000;
    let served = 0;
    let destroyFailed: unknown;
    const server = http.createServer(
      idempotency().handler((_req, res) => {
        served++;
        if (served <= REQUESTS) return void res.end('ok');
        res.writeHead(201);
        res.write('part');
        try {
          res.socket!.destroy();
        } catch (error) {
          destroyFailed = error;
        }
      }),
    );
    const [serverSide, client] = duplexPair();
    onTestFinished(() => {
      client.destroy();
      server.close();
    });
    server.emit('connection', serverSide);
    for (let i = 0; i < REQUESTS; i++) expect(await roundTrip(client, `k${i}`)).toBe('HTTP/1.1 200 OK');
    // A duplexPair's other side is not closed by the destroy: its answer is never read whole.
    await Promise.race([roundTrip(client, 'cut').catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 200))]);
    expect(String(destroyFailed ?? 'none')).toBe('none');
    expect(served).toBe(REQUESTS + 1);
  });
});
