/**
 * How one answer reaches several callers (the adapter's `share`): the first caller, a repeat
 * inside the settle window and a tab waiting on the intent each get a Response whose body
 * they can read, whatever the first caller did with its body and in whatever order. Node's
 * (undici's) Response, over a real loopback server. Written for session 28's recording of
 * the body (not kept, docs/client-cost.md); they hold for today's clone too.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createIdempotentFetch, type IdempotentFetch } from '../../src/fetch/index.js';
import { memoryStore } from '../../src/core/store.js';
import { fakeLocks } from '../core/fake-locks.js';
import { startServer, startTestServer, type ListeningServer, type TestServer } from '../helpers/http-server.js';

const BODY = '{"id":7,"name":"ünïcode"}';
const original = Response.prototype.clone;

let server: TestServer;
let fetchOnce: IdempotentFetch;
beforeEach(async () => {
  server = await startTestServer();
  server.fallback = { status: 201, headers: { 'content-type': 'application/json', 'x-order': '7' }, body: BODY };
  fetchOnce = createIdempotentFetch({ store: memoryStore(), locks: null, retry: false });
});
afterEach(() => server.close());

const post = (via: IdempotentFetch = fetchOnce, url = `${server.url}/orders`) => via(url, { method: 'POST', body: '{"sku":"A"}' });

/** What a duplicate must carry over from the original, apart from its body. */
const meta = (response: Response) => ({
  status: response.status,
  statusText: response.statusText,
  headers: [...response.headers],
  url: response.url,
  redirected: response.redirected,
  type: response.type,
  ok: response.ok,
});

describe('the first caller', () => {
  it('a real Response, untouched until read', async () => {
    const response = await post();
    expect(response).toBeInstanceOf(Response);
    expect(Object.prototype.toString.call(response)).toBe('[object Response]');
    expect(response.bodyUsed).toBe(false);
    expect(await response.text()).toBe(BODY);
    expect(response.bodyUsed).toBe(true);
    await expect(response.text()).rejects.toThrow(TypeError);
  });
});

describe('a duplicate inside the settle window gets the same answer, one request', () => {
  it('asked before the caller reads', async () => {
    const first = await post();
    const second = await post();
    expect(second === first).toBe(false);
    expect(await second.text()).toBe(BODY);
    expect(await first.text()).toBe(BODY);
    expect(meta(second)).toEqual(meta(first));
    expect(server.seen).toHaveLength(1);
  });

  // Each reader, against what a plain fetch of the same answer gives.
  const readers = {
    text: (response: Response) => response.text(),
    json: (response: Response) => response.json(),
    arrayBuffer: async (response: Response) => [...new Uint8Array(await response.arrayBuffer())],
    bytes: async (response: Response) => [...(await response.bytes())],
    blob: async (response: Response) => {
      const blob = await response.blob();
      return [blob.type, await blob.text()];
    },
  };
  for (const [name, read] of Object.entries(readers)) {
    it(`asked after the caller read it with ${name}()`, async () => {
      const plain = await read(await fetch(`${server.url}/plain`, { method: 'POST' }));
      const first = await post();
      expect(await read(first)).toEqual(plain);
      expect(first.bodyUsed).toBe(true);
      const second = await post();
      expect(second.bodyUsed).toBe(false);
      expect(meta(second)).toEqual(meta(first));
      expect(await read(second)).toEqual(plain);
      const third = await post();
      expect(await third.text()).toBe(BODY);
      expect(server.seen.filter((seen) => seen.path === '/orders')).toHaveLength(1);
    });
  }

  it('asked after the caller read it with formData()', async () => {
    server.fallback = { status: 200, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'a=1&b=%C3%BC' };
    const first = await post();
    expect([...(await first.formData())]).toEqual([['a', '1'], ['b', 'ü']]);
    expect([...(await (await post()).formData())]).toEqual([['a', '1'], ['b', 'ü']]);
    expect(server.seen).toHaveLength(1);
  });

  it('asked while the caller is still reading (a slow body): the copy waits for the bytes', async () => {
    const slow = await startServer((req, res) => {
      req.resume();
      res.writeHead(201, { 'content-type': 'text/plain' });
      res.write('first half, ');
      setTimeout(() => res.end('second half'), 50);
    });
    try {
      const first = await post(fetchOnce, `${slow.url}/slow`);
      const reading = first.text();
      const second = await post(fetchOnce, `${slow.url}/slow`);
      expect(await second.text()).toBe('first half, second half');
      expect(await reading).toBe('first half, second half');
    } finally {
      await slow.close();
    }
  });

  it('asked after the caller read the body stream itself', async () => {
    const first = await post();
    const reader = first.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) chunks.push(chunk.value);
    expect(new TextDecoder().decode(Buffer.concat(chunks))).toBe(BODY);
    expect(first.bodyUsed).toBe(true);
    expect(await (await post()).text()).toBe(BODY);
    expect(await (await post()).text()).toBe(BODY);
    expect(server.seen).toHaveLength(1);
  });

  it('asked after the caller cloned it and read both', async () => {
    const first = await post();
    const own = first.clone();
    expect(await own.text()).toBe(BODY);
    expect(await first.json()).toEqual(JSON.parse(BODY));
    expect(await (await post()).text()).toBe(BODY);
    expect(server.seen).toHaveLength(1);
  });

  it('a copy is its own: a caller writing into its buffer changes no other copy', async () => {
    const first = await post();
    new Uint8Array(await first.arrayBuffer()).fill(0);
    const second = await post();
    new Uint8Array(await second.arrayBuffer()).fill(0);
    expect(await (await post()).text()).toBe(BODY);
  });

  it('decodes text as Response.text() does: a BOM dropped, invalid bytes replaced', async () => {
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('ok '), Buffer.from([0xff, 0xfe]), Buffer.from(' end')]);
    const odd = await startServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(raw);
    });
    try {
      const plain = await (await fetch(`${odd.url}/plain`, { method: 'POST' })).text();
      const first = await post(fetchOnce, `${odd.url}/odd`);
      expect(await first.text()).toBe(plain);
      const second = await post(fetchOnce, `${odd.url}/odd`);
      expect(Buffer.from(await second.arrayBuffer()).equals(raw)).toBe(true);
    } finally {
      await odd.close();
    }
  });

  it('an empty body and a 204', async () => {
    server.replies = [{ status: 200, body: '' }];
    const empty = await post();
    expect(await empty.text()).toBe('');
    expect(await (await post()).text()).toBe('');

    server.replies = [{ status: 204 }];
    const url = `${server.url}/none`;
    const none = await post(fetchOnce, url);
    expect(none.status).toBe(204);
    expect(await none.text()).toBe('');
    const again = await post(fetchOnce, url);
    expect(again.status).toBe(204);
    expect(again.body).toBeNull();
    expect(await again.text()).toBe('');
    expect(server.seen).toHaveLength(2);
  });

  it('a problem+json answer: the classifier reads it, the caller and a duplicate still can', async () => {
    const problem = { type: 'https://example.com/problems/out-of-stock', title: 'Out of stock' };
    server.fallback = { status: 400, headers: { 'content-type': 'application/problem+json' }, body: JSON.stringify(problem) };
    const first = await post();
    expect(first.status).toBe(400);
    expect(await first.json()).toEqual(problem);
    expect(await (await post()).json()).toEqual(problem);
    expect(server.seen).toHaveLength(1);
  });
});

describe('a body read that fails midway', () => {
  let broken: ListeningServer;
  beforeEach(async () => {
    broken = await startServer((req, res) => {
      req.resume();
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => req.socket.destroy(), 20);
    });
  });
  afterEach(() => broken.close());

  it('the caller and every copy reject the same way; nothing hangs, nothing is sent again', async () => {
    const url = `${broken.url}/orders`;
    const first = await post(fetchOnce, url);
    const reading = first.text();
    const during = await post(fetchOnce, url);
    const failure = await reading.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    await expect(during.text()).rejects.toBe(failure);
    await expect((await post(fetchOnce, url)).arrayBuffer()).rejects.toBe(failure);
  });
});

describe('a body read through Response.prototype itself (what would defeat a recording of the body)', () => {
  it('a duplicate still gets the body, and no request', async () => {
    const first = await post();
    expect(await Response.prototype.text.call(first)).toBe(BODY);
    expect(await (await post()).text()).toBe(BODY);
    expect(server.seen).toHaveLength(1);
  });
});

describe('another tab waiting on the same intent', () => {
  const locks = fakeLocks();

  async function twoTabs() {
    const store = memoryStore();
    const owner = createIdempotentFetch({ store, locks, retry: false });
    const waiter = createIdempotentFetch({ store, locks, retry: false });
    await new Promise((resolve) => setTimeout(resolve, 5)); // the tabs' lifetime locks are granted
    return { owner, waiter };
  }

  it('asks while the request is in flight, before the owner reads', async () => {
    server.fallback = { ...server.fallback, delayMs: 150 } as typeof server.fallback;
    const { owner, waiter } = await twoTabs();
    const mine = post(owner);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const theirs = post(waiter);
    const first = await mine;
    expect(await first.text()).toBe(BODY);
    const second = await theirs;
    expect(second.status).toBe(201);
    expect(second.headers.get('x-order')).toBe('7');
    expect(await second.text()).toBe(BODY);
    expect(server.seen).toHaveLength(1);
  });

  it('the waiting tab makes each of its answers from the bytes it received, never a tee; a repeat there gets one too', async () => {
    server.fallback = { ...server.fallback, delayMs: 150 } as typeof server.fallback;
    const { owner, waiter } = await twoTabs();
    // The waiting tab's answers are made by the Response constructor: no url. The owner's have one.
    const teed: string[] = [];
    const clone = vi.spyOn(Response.prototype, 'clone');
    clone.mockImplementation(function (this: Response) {
      teed.push(this.url);
      return original.call(this);
    });
    try {
      const mine = post(owner);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const theirs = post(waiter);
      expect(await (await mine).text()).toBe(BODY);
      const received = await theirs;
      expect(await received.text()).toBe(BODY);
      const again = await post(waiter);
      expect(again === received).toBe(false);
      expect(again.headers.get('x-order')).toBe('7');
      expect(await again.text()).toBe(BODY);
    } finally {
      clone.mockRestore();
    }
    expect(server.seen).toHaveLength(1);
    expect(teed.length).toBeGreaterThan(0);
    expect(teed.filter((url) => url === '')).toEqual([]);
  });

  it('asks after the owner read the body', async () => {
    const { owner, waiter } = await twoTabs();
    const first = await post(owner);
    expect(await first.json()).toEqual(JSON.parse(BODY));
    // Still the owner's claim: its settle write waits 100 ms for a quiet moment.
    const second = await post(waiter);
    expect(await second.text()).toBe(BODY);
    expect(server.seen).toHaveLength(1);
  });
});
