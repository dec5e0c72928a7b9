/**
 * The shared protocol vectors (`test/protocol/vectors.ts`) run through the verifier: its
 * payload fingerprint and its key header handling. The client runs the same vectors in
 * `test/protocol/client-vectors.test.ts`; here the two ends are also held to each other.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../src/core/fingerprint.js';
import { isFormContentType, losesDigits, MAX_JSON_DEPTH, PayloadTooDeepError } from '../../src/protocol/index.js';
import { payloadFingerprint, type FingerprintInput } from '../../src/server/fingerprint.js';
import { createVerifier, idempotency, type Verifier } from '../../src/server/index.js';
import { canonicalJsonVectors, depthVectors, keyHeaderVectors, payloadVectors, type WireRequest } from '../protocol/vectors.js';
import { startServer, type ListeningServer } from '../helpers/http-server.js';
import { post } from '../helpers/post.js';
import { rawRequest } from '../helpers/raw-request.js';

/** The verifier's fingerprint of a wire request, its body as the bytes, the text, or what the middleware parses. */
function serverPrint(request: WireRequest, as: 'bytes' | 'text' | 'parsed'): string {
  const url = new URL(request.url);
  const text = request.body;
  let body: unknown = text === undefined ? undefined : as === 'text' ? text : Buffer.from(text);
  if (as === 'parsed' && text !== undefined && !isFormContentType(request.contentType)) {
    // What `payloadOf` hands over for a JSON body: the parsed object, array or string,
    // unless the parse rounded a number (then the bytes).
    try {
      const parsed: unknown = JSON.parse(text);
      if ((typeof parsed === 'string' || (typeof parsed === 'object' && parsed !== null)) && !losesDigits(text)) body = parsed;
    } catch {
      // Not JSON: the middleware keeps the bytes.
    }
  }
  return payloadFingerprint({ method: request.method, path: url.pathname, query: url.search.slice(1), body, contentType: request.contentType });
}

/** The client's fingerprint of the same request, a form body handed over as `URLSearchParams`. */
function clientPrint(request: WireRequest): string {
  const form = typeof request.body === 'string' && isFormContentType(request.contentType);
  return fingerprintOf({ method: request.method, url: request.url, body: form ? new URLSearchParams(request.body) : request.body });
}

describe('server fingerprint over the shared payload vectors', () => {
  for (const vector of payloadVectors) {
    it(`${vector.name}: ${vector.same ? 'one payload' : 'two payloads'}, as the client says`, () => {
      for (const as of ['bytes', 'text', 'parsed'] as const) {
        expect(serverPrint(vector.a, as) === serverPrint(vector.b, as), as).toBe(vector.same);
      }
      expect(clientPrint(vector.a) === clientPrint(vector.b), 'client').toBe(vector.same);
    });
  }

  it('client fingerprint equal ⇔ server fingerprint equal, over every JSON vector as a value and as its text', () => {
    // Each vector twice: the value a caller (or a body parser) holds, and its canonical
    // JSON text on the wire. Value and text are one payload where the text reads back as
    // that value (not a bigint beyond a double, not a bare number), on both ends alike.
    const bodies = canonicalJsonVectors.flatMap((v) => [
      { name: `${v.name} (value)`, client: v.value, server: v.value },
      { name: `${v.name} (text)`, client: v.canonical, server: Buffer.from(v.canonical) },
    ]);
    const client = bodies.map((b) => fingerprintOf({ method: 'POST', url: 'https://shop.test/orders', body: b.client }));
    const server = bodies.map((b) => payloadFingerprint({ method: 'POST', path: '/orders', query: '', body: b.server, contentType: 'application/json' }));
    const disagreements: string[] = [];
    let equalPairs = 0;
    for (let i = 0; i < bodies.length; i++) {
      for (let j = i + 1; j < bodies.length; j++) {
        if (server[i] === server[j]) equalPairs++;
        // A Map value is the one JSON cannot spell: the server sees the `{}` a serialiser
        // writes, the client its entries (two different Maps are two intents). There only
        // the direction that could join two payloads under one key must hold.
        const byEntries = bodies[i]!.client instanceof Map || bodies[j]!.client instanceof Map;
        const clientEqual = client[i] === client[j];
        if (byEntries ? clientEqual && server[i] !== server[j] : clientEqual !== (server[i] === server[j])) disagreements.push(`${bodies[i]!.name} / ${bodies[j]!.name}`);
      }
    }
    expect(disagreements).toEqual([]);
    // Not vacuous: most vectors' value and text are one payload, so both answers occur.
    expect(equalPairs).toBeGreaterThan(canonicalJsonVectors.length / 2);
  });

  it('refuses a body nested deeper than MAX_JSON_DEPTH, as bytes, text or a parsed value', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    for (const vector of depthVectors) {
      for (const body of [Buffer.from(vector.text), vector.text, JSON.parse(vector.text) as unknown]) {
        const print = () => payloadFingerprint({ method: 'POST', path: '/x', query: '', body, contentType: 'application/json' });
        if (vector.tooDeep) expect(print, vector.name).toThrow(PayloadTooDeepError);
        else expect(print, vector.name).not.toThrow();
      }
    }
  });

  it('keeps the fingerprints earlier versions stored, so a retry across an upgrade still matches', () => {
    // Computed with the verifier's own canonical code before it moved to src/protocol.
    const base = { method: 'POST', path: '/orders', query: 'b=2&a=1' };
    expect(payloadFingerprint({ ...base, body: Buffer.from('{"sku":"A","qty":1}') })).toBe('ZK7JDSsCoHSda4zCo0u6_HfVg6GF2YYJzYyULgFYQ7M');
    expect(payloadFingerprint({ ...base, body: { qty: 1, sku: 'A' } })).toBe('ZK7JDSsCoHSda4zCo0u6_HfVg6GF2YYJzYyULgFYQ7M');
    expect(payloadFingerprint({ ...base, body: Buffer.from('hello') })).toBe('Gh4iUYkn39jj31MlmY8t_u9GWyQDV_P9DjMbTaXhgqY');
    expect(payloadFingerprint({ ...base, body: undefined })).toBe('aElZJQBRF0o8wsfZOWnoEtETFV1FnrExoWxcSlOCFaU');
    expect(payloadFingerprint({ ...base, body: Buffer.from([0xff, 0xfe, 0x00]) })).toBe('k33SAM41eMN7kP2JW0NbA8tKKD8qXw1m4z3IqOYokZY');
  });

  it('keeps the fingerprint of every kind of body, method and query (stores compare it across versions and processes)', () => {
    // Computed with the code of session 21 (main at 500ee11), before the fingerprint was hashed from one string.
    const pins: Array<[FingerprintInput, string]> = [
      [{ method: 'POST', path: '/f', query: '', body: 'b=2&a=1&a=0', contentType: 'application/x-www-form-urlencoded; charset=utf-8' }, 'StshZbrdq34KC9Pm9It2FLoQW4bg0HSOB_-sH_pr2SY'],
      [{ method: 'POST', path: '/f', query: '', body: Buffer.from('b=2&a=1&a=0'), contentType: 'application/x-www-form-urlencoded' }, 'StshZbrdq34KC9Pm9It2FLoQW4bg0HSOB_-sH_pr2SY'],
      [{ method: 'put', path: '/t', query: 'z=1&y=%20', body: 'plain text é €', contentType: 'text/plain' }, '4Mcqz9MGKntt7thGvJT1b2wHtTL4HqG0_7rKFb4lkhs'],
      [{ method: 'PATCH', path: '/é', query: '', body: ' {"b":[1,2],"a":"ü"}', contentType: 'application/json' }, 'reGQxjJ8tUWgqo1fPzVsKQDeb3sV6l0cfgr-A9r2pZg'],
      [{ method: 'patch', path: '/é', query: '', body: { b: [1, 2], a: 'ü' } }, 'reGQxjJ8tUWgqo1fPzVsKQDeb3sV6l0cfgr-A9r2pZg'],
      [{ method: 'POST', path: '/a', query: 'q', body: [{ y: null, x: true }] }, 'qHuvMnSgB1i6C9PrrJi-eUuwPisEdoOORS8oz0QaIBo'],
      [{ method: 'DELETE', path: '/d', query: '', body: null }, '6QB5hJqOxKclsSiJLjXO4j4GCD4q651BaqChLrUoHyk'],
      [{ method: 'POST', path: '/n', query: '', body: '{not json' }, 'M2BxMXgeWiKCHi-xgSSFineafBBzK9Ovr4t1mSIdxEE'],
    ];
    for (const [input, expected] of pins) expect(payloadFingerprint(input), JSON.stringify(input)).toBe(expected);
  });

  it('treats every empty body alike, and bytes that are no UTF-8 as bytes', () => {
    const fp = (body: unknown) => payloadFingerprint({ method: 'POST', path: '/x', query: '', body });
    expect(fp(Buffer.alloc(0))).toBe(fp(undefined));
    expect(fp('')).toBe(fp(undefined));
    expect(fp(Buffer.from([0xff, 0x01]))).not.toBe(fp(Buffer.from([0xff, 0x02])));
  });
});

describe('a form submitted again with its fields in another order', () => {
  let verifier: Verifier;
  let url: string;
  beforeAll(async () => {
    verifier = createVerifier();
    url = await verifier.listen(0);
  });
  afterAll(() => verifier.close());

  const form = (key: string, raw: string) => post(`${url}/echo`, { key, raw, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });

  it('is the same payload: replayed, not 422 key-reused', async () => {
    expect((await form('f1', 'qty=1&sku=A')).status).toBe(200);
    const again = await form('f1', 'sku=A&qty=1');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('(control) another value is another payload: 422', async () => {
    expect((await form('f2', 'qty=1&sku=A')).status).toBe(200);
    const other = await form('f2', 'qty=2&sku=A');
    expect(other.status).toBe(422);
    expect(other.json().type).toBe('https://submit-once.dev/problems/key-reused');
  });
});

describe('server key header over the shared key vectors', () => {
  let server: ListeningServer;
  const ran: string[] = [];
  beforeAll(async () => {
    const mw = idempotency({ principal: false });
    server = await startServer(
      mw.handler((req, res) => {
        ran.push(req.idempotency?.key ?? '');
        res.end(JSON.stringify(req.idempotency?.key));
      }),
    );
  });
  afterAll(() => server.close());

  /** Sends the header lines as they are, which `fetch` would refuse or join. */
  const send = async (headerLines: readonly string[]): Promise<{ status: number; body: string }> => {
    const head = ['POST /orders HTTP/1.1', 'Host: x', 'Content-Type: application/json', 'Content-Length: 2', 'Connection: close', ...headerLines];
    const answer = await rawRequest(server.url, `${head.join('\r\n')}\r\n\r\n{}`);
    return { status: Number(answer.split(' ')[1]), body: answer.slice(answer.indexOf('\r\n\r\n') + 4) };
  };

  for (const vector of keyHeaderVectors) {
    it(`${vector.name}: ${vector.key === null ? 'refused with 400' : 'the key the handler sees'}`, async () => {
      const lines = (typeof vector.header === 'string' ? [vector.header] : vector.header).map((value) => `Idempotency-Key: ${value}`);
      const before = ran.length;
      const answer = await send(lines);
      if (vector.key === null) {
        expect(answer.status).toBe(400);
        expect(ran.length).toBe(before);
      } else {
        expect(answer.status).toBe(200);
        expect(JSON.parse(answer.body)).toBe(vector.key);
      }
    });
  }
});
