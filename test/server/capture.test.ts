import type { ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { idempotency, memoryStore } from '../../src/server/index.js';
import type { IdempotencyStore } from '../../src/server/stores/types.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { within } from '../helpers/within.js';

const servers: ListeningServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

describe('response capture alongside other wrappers of the response', () => {
  it('works under a second guard and under a middleware that wraps end itself: each sees its own calls', async () => {
    let runs = 0;
    const ended: string[] = [];
    const outer = idempotency();
    const inner = idempotency({ header: 'X-Inner-Key' });
    // A compression-like middleware between the two guards: it wraps `end` on the instance.
    const wrapEnd = (res: ServerResponse): void => {
      const end = res.end;
      res.end = function (this: ServerResponse, ...args: unknown[]) {
        ended.push(String(args[0]));
        return (end as (...a: unknown[]) => ServerResponse).apply(this, args);
      } as ServerResponse['end'];
    };
    const server = await startServer(
      outer.handler((req, res) => {
        wrapEnd(res);
        return inner.handler((_req, innerRes) => {
          runs++;
          innerRes.writeHead(201, { 'Content-Type': 'text/plain' });
          innerRes.write('order ');
          innerRes.end(String(runs));
        })(req, res);
      }),
    );
    servers.push(server);
    const send = () => post(`${server.url}/orders`, { key: 'k', body: { item: 'tea' }, headers: { 'X-Inner-Key': 'i' } });
    const first = await send();
    expect(first.status).toBe(201);
    expect(first.text).toBe('order 1');
    const second = await send();
    expect(second.status).toBe(201);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(second.text).toBe('order 1');
    expect(second.headers.get('content-type')).toBe('text/plain');
    expect(runs).toBe(1);
    expect(ended).toEqual(['1']);
    expect(outer.stats().totals).toMatchObject({ executions: 1, replays: 1 });
    expect(inner.stats().totals).toMatchObject({ executions: 1 });
  });
});

describe('what the capture keeps of an answer', () => {
  const serve = async (guard: ReturnType<typeof idempotency>, handler: (res: ServerResponse) => void): Promise<ListeningServer> => {
    const server = await startServer(guard.handler((_req, res) => handler(res)));
    servers.push(server);
    return server;
  };

  it('replays the kept headers given to writeHead as a flat list, by any case, and not the others', async () => {
    const guard = idempotency({ replayHeaders: ['X-Order'] });
    const server = await serve(guard, (res) => {
      res.writeHead(201, ['Content-Type', 'text/plain', 'X-ORDER', 'o-1', 'X-Trace', 't-1']);
      res.end('ok');
    });
    await post(`${server.url}/orders`, { key: 'h', body: {} });
    const replayed = await post(`${server.url}/orders`, { key: 'h', body: {} });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('content-type')).toBe('text/plain');
    expect(replayed.headers.get('x-order')).toBe('o-1');
    expect(replayed.headers.get('x-trace')).toBeNull();
  });

  it('replays every line of a header repeated in a writeHead list, as Node sends them (two Link lines)', async () => {
    const guard = idempotency();
    const server = await serve(guard, (res) => {
      res.writeHead(201, ['Content-Type', 'text/plain', 'Link', '</a.css>; rel=preload', 'link', '</b.js>; rel=preload']);
      res.end('ok');
    });
    const first = await post(`${server.url}/orders`, { key: 'links', body: {} });
    expect(first.headers.get('link')).toBe('</a.css>; rel=preload, </b.js>; rel=preload');
    const replayed = await post(`${server.url}/orders`, { key: 'links', body: {} });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('link')).toBe('</a.css>; rel=preload, </b.js>; rel=preload');

    // With a header set before, Node sets the list's names one by one instead: the replay says what went out.
    const after = await serve(idempotency(), (res) => {
      res.setHeader('Content-Type', 'text/plain');
      res.writeHead(201, ['Link', '</a.css>; rel=preload', 'Link', '</b.js>; rel=preload']);
      res.end('ok');
    });
    const sent = await post(`${after.url}/orders`, { key: 'links', body: {} });
    const again = await post(`${after.url}/orders`, { key: 'links', body: {} });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('link')).toBe(sent.headers.get('link'));
  });

  it('replays the bytes as sent, across chunks of every kind, and a single buffer as it was at end', async () => {
    const guard = idempotency();
    let sentOne: Buffer | undefined;
    const server = await serve(guard, (res) => {
      res.writeHead(201, { 'Content-Type': 'text/plain' });
      res.write(new Uint8Array([0x61, 0x62]));
      res.write('cd');
      res.end(Buffer.from('ef'));
    });
    const first = await post(`${server.url}/orders`, { key: 'chunks', body: {} });
    expect(first.text).toBe('abcdef');
    expect((await post(`${server.url}/orders`, { key: 'chunks', body: {} })).text).toBe('abcdef');

    // A store that keeps the answer it is given as is (the memory store copies it at once).
    const given: Uint8Array[] = [];
    const inner = memoryStore();
    const keeping: IdempotencyStore = {
      name: 'keeping',
      sync: { claim: (request) => inner.sync!.claim(request) },
      claim: (request) => inner.claim(request),
      complete: (request) => {
        given.push(request.response.body);
        return inner.complete(request);
      },
      release: (request) => inner.release(request),
      markUnknown: (request) => inner.markUnknown(request),
      renew: (request) => inner.renew(request),
      sweep: (now) => inner.sweep(now),
      clear: () => inner.clear(),
      close: () => inner.close(),
    };
    const single = await serve(idempotency({ store: keeping }), (res) => {
      sentOne = Buffer.from('order 1');
      res.end(sentOne);
      // The handler reuses its buffer once `end` returned: the answer given to the store must not change with it.
      sentOne.fill(0x78);
    });
    // (What goes out is the buffer as it is when the held `end` goes out: the handler's to keep.)
    expect((await post(`${single.url}/orders`, { key: 'one', body: {} })).status).toBe(200);
    expect(given.map((body) => Buffer.from(body).toString())).toEqual(['order 1']);
    const again = await post(`${single.url}/orders`, { key: 'one', body: {} });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe('order 1');
  });
});

describe('an answer whose head went out before its end', () => {
  it('is replayed with the status its head went out with, not one set after (the caller saw that one)', async () => {
    let runs = 0;
    const server = await startServer(
      idempotency().handler((_req, res) => {
        runs++;
        res.writeHead(200, { 'Content-Type': 'text/csv' });
        res.write(`order,${runs}\n`);
        // Too late to tell the caller: the head with its 200 is out.
        res.statusCode = 500;
        res.end();
      }),
    );
    servers.push(server);
    const first = await post(`${server.url}/exports`, { key: 'csv', body: {} });
    expect([first.status, first.text]).toEqual([200, 'order,1\n']);
    const again = await post(`${server.url}/exports`, { key: 'csv', body: {} });
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([200, 'order,1\n', 'true']);
    expect(runs).toBe(1);
  });
});

describe('a writeHead Node refused (a header value with a line break), the handler answering otherwise', () => {
  it('is replayed as the answer that went out, not as the head that never did', async () => {
    let runs = 0;
    const server = await startServer(
      idempotency().handler((_req, res) => {
        runs++;
        try {
          res.writeHead(201, { 'Content-Type': 'text/plain', 'X-Note': 'line\nbreak' });
        } catch {
          res.statusCode = 400;
          res.setHeader('Content-Type', 'application/json');
          res.end('{"error":"bad note"}');
        }
      }),
    );
    servers.push(server);
    const first = await post(`${server.url}/orders`, { key: 'refused-head', body: {} });
    expect([first.status, first.headers.get('content-type'), first.text]).toEqual([400, 'application/json', '{"error":"bad note"}']);
    const again = await post(`${server.url}/orders`, { key: 'refused-head', body: {} });
    expect([again.status, again.headers.get('content-type'), again.text, again.headers.get('idempotent-replayed')]).toEqual([400, 'application/json', '{"error":"bad note"}', 'true']);
    expect(runs).toBe(1);
  });
});

describe('a compressed answer', () => {
  it('replays its Content-Encoding with its bytes: the bytes mean nothing without it', async () => {
    const { gzipSync } = await import('node:zlib');
    const json = JSON.stringify({ id: 1, note: 'x'.repeat(2_000) });
    let runs = 0;
    const server = await startServer(
      idempotency().handler((_req, res) => {
        runs++;
        // What a compressing upstream behind the verifier's proxy, or `compression()`, sends.
        res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', Vary: 'Accept-Encoding' });
        res.end(gzipSync(json));
      }),
    );
    servers.push(server);
    const first = await post(`${server.url}/orders`, { key: 'gz', body: {} });
    expect(first.text).toBe(json);
    const replayed = await post(`${server.url}/orders`, { key: 'gz', body: {} });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('content-encoding')).toBe('gzip');
    expect(replayed.text).toBe(json);
    expect(runs).toBe(1);
  });
});

describe('a download', () => {
  it('replays its Content-Disposition: the retry saves the same file under the same name', async () => {
    const pdf = Buffer.from('%PDF-1.7 receipt 1');
    let runs = 0;
    const server = await startServer(
      idempotency().handler((_req, res) => {
        runs++;
        res.setHeader('Content-Type', 'application/pdf');
        res.setHeader('Content-Disposition', 'attachment; filename="receipt-1.pdf"');
        res.end(pdf);
      }),
    );
    servers.push(server);
    const first = await post(`${server.url}/orders`, { key: 'pdf', body: {} });
    expect(first.headers.get('content-disposition')).toBe('attachment; filename="receipt-1.pdf"');
    const replayed = await post(`${server.url}/orders`, { key: 'pdf', body: {} });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('content-type')).toBe('application/pdf');
    expect(replayed.headers.get('content-disposition')).toBe('attachment; filename="receipt-1.pdf"');
    expect(replayed.text).toBe(pdf.toString());
    expect(runs).toBe(1);
  });
});

describe('an end Node refuses (an object given to res.end, a common slip)', () => {
  it("throws Node's own error with the answer still open, so the handler's failure is answered, not a caller left waiting", async () => {
    const thrown: string[] = [];
    let runs = 0;
    const server = await startServer(
      idempotency().handler((_req, res) => {
        runs++;
        try {
          res.end({ id: runs } as unknown as string);
        } catch (error) {
          thrown.push((error as { code?: string }).code ?? String(error));
          throw error;
        }
      }),
    );
    servers.push(server);
    const first = await within(2000, post(`${server.url}/orders`, { key: 'object', body: {} }));
    expect(first === 'no answer' ? first : first.json().type).toBe('https://submit-once.dev/problems/handler-failed');
    expect(thrown).toEqual(['ERR_INVALID_ARG_TYPE']);
  });
});

describe('an end with an encoding Node does not know (a typo, or a name from another platform)', () => {
  it("throws Node's ERR_UNKNOWN_ENCODING with the answer still open: the handler's own answer goes out, not a caller left waiting", async () => {
    const thrown: string[] = [];
    let runs = 0;
    const server = await startServer(
      idempotency().handler((_req, res) => {
        runs++;
        try {
          res.end('6f6b', 'hexa' as BufferEncoding);
        } catch (error) {
          thrown.push((error as { code?: string }).code ?? String(error));
          res.statusCode = 422;
          res.end('unreadable');
        }
      }),
    );
    servers.push(server);
    const first = await within(2000, post(`${server.url}/orders`, { key: 'encoding', body: {} }));
    expect(first === 'no answer' ? first : [first.status, first.text]).toEqual([422, 'unreadable']);
    expect(thrown).toEqual(['ERR_UNKNOWN_ENCODING']);
    const again = await post(`${server.url}/orders`, { key: 'encoding', body: {} });
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([422, 'unreadable', 'true']);
    expect(runs).toBe(1);
  });
});

describe("a string written with the encoding 'buffer' (Node's streams take it as utf8)", () => {
  it('is answered and replayed as Node sends it, not failed by the capture', async () => {
    const server = await startServer(
      idempotency().handler((_req, res) => {
        res.write('ab', 'buffer' as BufferEncoding);
        res.end('\u00e9', 'buffer' as BufferEncoding);
      }),
    );
    servers.push(server);
    const first = await post(`${server.url}/orders`, { key: 'buffer', body: {} });
    expect([first.status, first.text]).toEqual([200, 'ab\u00e9']);
    const again = await post(`${server.url}/orders`, { key: 'buffer', body: {} });
    expect([again.status, again.text, again.headers.get('idempotent-replayed')]).toEqual([200, 'ab\u00e9', 'true']);
  });
});

describe("node:http2's compatibility API (http2.createServer(mw.handler(app)))", () => {
  it('answers, and replays the status, kept headers and bytes, running the handler once', async () => {
    let runs = 0;
    const guard = idempotency();
    const server = http2.createServer(
      guard.handler((_req, res) => {
        runs++;
        res.setHeader('ETag', `"o${runs}"`);
        res.writeHead(201, { 'Content-Type': 'application/json' });
        res.write('{"order":');
        res.end(`${runs}}`);
      }) as unknown as Parameters<typeof http2.createServer>[0],
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    onTestFinished(() => {
      client.destroy();
      server.close();
    });
    const send = () =>
      new Promise<{ status: unknown; type: unknown; etag: unknown; replayed: unknown; body: string }>((resolve, reject) => {
        const stream = client.request({ ':method': 'POST', ':path': '/orders', 'idempotency-key': 'h2', 'content-type': 'application/json' });
        let head: http2.IncomingHttpHeaders = {};
        let body = '';
        stream.on('response', (headers) => (head = headers));
        stream.on('data', (chunk: Buffer) => (body += chunk.toString()));
        stream.on('end', () => resolve({ status: head[':status'], type: head['content-type'], etag: head.etag, replayed: head['idempotent-replayed'], body }));
        stream.on('error', reject);
        stream.end('{"item":"tea"}');
      });
    expect(await send()).toEqual({ status: 201, type: 'application/json', etag: '"o1"', replayed: undefined, body: '{"order":1}' });
    expect(await send()).toEqual({ status: 201, type: 'application/json', etag: '"o1"', replayed: 'true', body: '{"order":1}' });
    expect(runs).toBe(1);
  });
});
