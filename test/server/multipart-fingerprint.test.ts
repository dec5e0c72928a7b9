/**
 * A multipart/form-data body is compared by its parts, its boundary left out: every client
 * but ours (a browser's own fetch(FormData), axios, a plain form, curl -F, Node's fetch)
 * picks a new random boundary at each attempt, so the retry of one upload under one key
 * got 422 key-reused while the first upload may have run. Two different uploads stay two
 * payloads, and a body that does not parse strictly is compared as it came, as before.
 */
import { createHash, type Hash } from 'node:crypto';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createVerifier, idempotency, memoryStore, type Verifier } from '../../src/server/index.js';
import { payloadFingerprint } from '../../src/server/fingerprint.js';
import { express4 } from '../helpers/express4.js';
import { post } from '../helpers/post.js';
import { serverPerTest } from '../helpers/serve.js';

const serve = serverPerTest();
let verifier: Verifier;
let url: string;
/** The bytes of each run the origin made, in order. */
const runs: string[] = [];

beforeAll(async () => {
  verifier = createVerifier({
    handler: (req, res) => {
      runs.push(req.rawBody?.toString('latin1') ?? '');
      res.end(`stored ${runs.length}`);
    },
  });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());

interface Part {
  readonly headers: string;
  readonly body: string;
}

const field = (name: string, value: string): Part => ({ headers: `Content-Disposition: form-data; name="${name}"`, body: value });
const file = (name: string, filename: string, type: string, bytes: string): Part => ({
  headers: `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}`,
  body: bytes,
});

/** The parts as a browser frames them (latin1: each character one byte). */
function multipart(boundary: string, parts: readonly Part[]): string {
  return `${parts.map((p) => `--${boundary}\r\n${p.headers}\r\n\r\n${p.body}\r\n`).join('')}--${boundary}--\r\n`;
}

const send = (key: string, raw: string, boundary: string | undefined, target = url) =>
  post(`${target}/photos`, {
    key,
    raw: new Uint8Array(Buffer.from(raw, 'latin1')),
    headers: { 'Content-Type': boundary === undefined ? 'multipart/form-data' : `multipart/form-data; boundary=${boundary}` },
  });

const UPLOAD = [field('caption', 'holiday'), file('photo', 'p.jpg', 'image/jpeg', 'AAA\xff\x00\r\nB')];

describe('the same upload under another boundary is one payload', () => {
  it('retried with a new boundary, as a browser picks one per attempt: replayed, run once', async () => {
    runs.length = 0;
    const first = await send('same-upload', multipart('----WebKitFormBoundaryAAAA', UPLOAD), '----WebKitFormBoundaryAAAA');
    const retry = await send('same-upload', multipart('----WebKitFormBoundaryBBBB', UPLOAD), '----WebKitFormBoundaryBBBB');
    expect(first.status).toBe(200);
    expect(runs).toHaveLength(1);
    expect(retry.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(retry.text).toBe(first.text);
  });

  it("Node's fetch(FormData), a new random boundary per call: the retry is replayed", async () => {
    runs.length = 0;
    const upload = () => {
      const form = new FormData();
      form.append('caption', 'holiday');
      form.append('photo', new Blob([new Uint8Array([0, 1, 2, 255])], { type: 'image/jpeg' }), 'p.jpg');
      return fetch(`${url}/photos`, { method: 'POST', headers: { 'Idempotency-Key': 'node-fetch' }, body: form });
    };
    const first = await upload();
    const retry = await upload();
    expect(first.status).toBe(200);
    expect(retry.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toHaveLength(1);
  });

  // Decided (s39): the Content-Type only says whether and how a body is parsed as a form;
  // its other parameters (charset) are in no fingerprint, as with a text/plain body.
  it('the same parts under another charset parameter: one payload, replayed, run once', async () => {
    runs.length = 0;
    const sendAs = (key: string, raw: string, contentType: string) =>
      post(`${url}/photos`, { key, raw: new Uint8Array(Buffer.from(raw, 'latin1')), headers: { 'Content-Type': contentType } });
    const parts = [field('name', '\xc3\xa9')];
    const first = await sendAs('charset', multipart('a', parts), 'multipart/form-data; boundary=a; charset=utf-8');
    const retry = await sendAs('charset', multipart('b', parts), 'multipart/form-data; boundary=b; charset=iso-8859-1');
    expect(runs).toHaveLength(1);
    expect({ status: retry.status, replayed: retry.headers.get('idempotent-replayed'), text: retry.text }).toEqual({ status: 200, replayed: 'true', text: first.text });
    const text = await sendAs('text-charset', '\xc3\xa9', 'text/plain; charset=utf-8');
    const textRetry = await sendAs('text-charset', '\xc3\xa9', 'text/plain; charset=iso-8859-1');
    expect(runs).toHaveLength(2);
    expect({ status: textRetry.status, replayed: textRetry.headers.get('idempotent-replayed'), text: textRetry.text }).toEqual({ status: 200, replayed: 'true', text: text.text });
  });

  it('a quoted boundary, the media type in capitals, no closing CRLF, an empty form: one payload with the plain spelling', () => {
    const fp = (raw: string, contentType: string) => payloadFingerprint({ method: 'POST', path: '/p', query: '', body: Buffer.from(raw, 'latin1'), contentType });
    const plain = fp(multipart('a1', UPLOAD), 'multipart/form-data; boundary=a1');
    expect(fp(multipart('b 2', UPLOAD), 'Multipart/Form-Data; boundary="b 2"; charset=utf-8')).toBe(plain);
    expect(fp(multipart('c3', UPLOAD).slice(0, -2), 'multipart/form-data; boundary=c3')).toBe(plain);
    expect(fp('--x--\r\n', 'multipart/form-data; boundary=x')).toBe(fp('--y--', 'multipart/form-data; boundary=y'));
    // Text, as express.text() leaves it, is its UTF-8 bytes.
    const text = multipart('t', [field('caption', 'été')]);
    expect(payloadFingerprint({ method: 'POST', path: '/p', query: '', body: text, contentType: 'multipart/form-data; boundary=t' })).toBe(
      payloadFingerprint({ method: 'POST', path: '/p', query: '', body: Buffer.from(multipart('u', [field('caption', 'été')])), contentType: 'multipart/form-data; boundary=u' }),
    );
  });
});

describe('cost', () => {
  it('a body of 100k empty parts (1 MiB, the default maxBodyBytes): no Buffer and no hash call a part', () => {
    // A subarray a part's headers and content (about a microsecond each on Node 20) and three
    // hash updates a part took 0.7 to 1.8 s and ~100 MiB for this body, 15 to 30 times its
    // bytes fingerprint: counted here rather than timed, as the machine's load varies.
    const parts = 116_000;
    const raw = Buffer.from(`${'--x\r\n\r\n\r\n'.repeat(parts)}--x--\r\n`, 'latin1');
    const subarrays = vi.spyOn(Buffer.prototype, 'subarray');
    const updates = vi.spyOn(Object.getPrototypeOf(createHash('sha256')) as Hash, 'update');
    try {
      const fingerprint = payloadFingerprint({ method: 'POST', path: '/p', query: '', body: raw, contentType: 'multipart/form-data; boundary=x' });
      expect(fingerprint).not.toBe(payloadFingerprint({ method: 'POST', path: '/p', query: '', body: raw, contentType: 'application/octet-stream' }));
      expect(subarrays.mock.calls.length).toBeLessThan(parts / 100);
      expect(updates.mock.calls.length).toBeLessThan(parts / 100);
    } finally {
      subarrays.mockRestore();
      updates.mockRestore();
    }
  });
});

describe('two different uploads under one key stay two payloads (422, run once)', () => {
  const cases: Array<[string, Part[], Part[]]> = [
    ['files differing in one byte', UPLOAD, [UPLOAD[0]!, file('photo', 'p.jpg', 'image/jpeg', 'AAA\xfe\x00\r\nB')]],
    ['files differing in filename', UPLOAD, [UPLOAD[0]!, file('photo', 'q.jpg', 'image/jpeg', 'AAA\xff\x00\r\nB')]],
    ['files differing in content type', UPLOAD, [UPLOAD[0]!, file('photo', 'p.jpg', 'image/png', 'AAA\xff\x00\r\nB')]],
    ['the parts in another order', UPLOAD, [UPLOAD[1]!, UPLOAD[0]!]],
    ['two files of one name in another order', [file('p', 'a', 't/a', '1'), file('p', 'b', 't/a', '2')], [file('p', 'b', 't/a', '2'), file('p', 'a', 't/a', '1')]],
    ['a part moved from one name to another', [field('a', 'x'), field('b', '')], [field('a', ''), field('b', 'x')]],
    ['a field and a file of the same text', [field('note', 'hi')], [file('note', 'note.txt', 'text/plain', 'hi')]],
    ['a latin1 field é and è (both U+FFFD once decoded)', [field('name', '\xe9')], [field('name', '\xe8')]],
    [
      'a base64 Content-Transfer-Encoding part and the bytes it decodes to',
      [{ headers: 'Content-Disposition: form-data; name="f"\r\nContent-Transfer-Encoding: base64', body: 'QUFB' }],
      [field('f', 'QUFB')],
    ],
    // Each part kept apart by its length, not by a delimiter one part's bytes could spell.
    ['one part spelling two parts of another boundary, and those two parts', [field('a', 'x\r\n--bB\r\nContent-Disposition: form-data; name="a"\r\n\r\n')], [field('a', 'x'), field('a', '')]],
  ];
  for (const [name, one, other] of cases) {
    it(name, async () => {
      runs.length = 0;
      const key = `apart-${cases.findIndex(([n]) => n === name)}`;
      expect((await send(key, multipart('bA', one), 'bA')).status).toBe(200);
      const second = await send(key, multipart('bB', other), 'bB');
      expect(second.headers.get('idempotent-replayed')).toBeNull();
      expect(second.status).toBe(422);
      expect(runs).toHaveLength(1);
    });
  }
});

describe('a multipart body that does not parse is compared as it came, as before', () => {
  const SAME = multipart('q', UPLOAD);
  const malformed: Array<[string, string, string | undefined]> = [
    ['no boundary parameter', SAME, undefined],
    ['a preamble', `preamble\r\n${SAME}`, 'q'],
    ['an epilogue', `${SAME}epilogue`, 'q'],
    ['no closing delimiter', SAME.slice(0, SAME.lastIndexOf('--q--')), 'q'],
    ['a delimiter followed by something else', SAME.replace('holiday', 'holi\r\n--qday'), 'q'],
    ['a part with no blank line after its headers', '--q\r\nContent-Disposition: form-data; name="a"\r\n--q--\r\n', 'q'],
    ['whitespace after a delimiter', SAME.replace('--q\r\n', '--q \r\n'), 'q'],
  ];
  for (const [name, raw, boundary] of malformed) {
    it(`${name}: the same bytes are replayed, other bytes are 422`, async () => {
      runs.length = 0;
      const key = `malformed-${malformed.findIndex(([n]) => n === name)}`;
      expect((await send(key, raw, boundary)).status).toBe(200);
      expect((await send(key, raw, boundary)).headers.get('idempotent-replayed')).toBe('true');
      expect((await send(key, `${raw}x`, boundary)).status).toBe(422);
      expect(runs).toHaveLength(1);
    });
  }

  it('the boundary after a bare LF inside a part (two parts to a lenient parser): not one payload with the same part under another boundary', async () => {
    runs.length = 0;
    const parts = (b: string) => [field('a', `x\n--${b}\r\nContent-Disposition: form-data; name="b"\r\n\r\ny`)];
    expect((await send('bare-lf', multipart('q', parts('q')), 'q')).status).toBe(200);
    expect((await send('bare-lf', multipart('r', parts('q')), 'r')).status).toBe(422);
    expect(runs).toHaveLength(1);
  });

  it('a quoted boundary with an escape (a parser that does not unescape takes another one), two boundary parameters: compared as they came', () => {
    const fp = (raw: string, contentType: string) => payloadFingerprint({ method: 'POST', path: '/p', query: '', body: Buffer.from(raw, 'latin1'), contentType });
    const asBytes = (raw: string) => fp(raw, 'application/octet-stream');
    expect(fp(multipart('ab', UPLOAD), 'multipart/form-data; boundary="a\\b"')).toBe(asBytes(multipart('ab', UPLOAD)));
    expect(fp(multipart('ab', UPLOAD), 'multipart/form-data; boundary=ab; boundary=ab')).toBe(asBytes(multipart('ab', UPLOAD)));
    expect(fp(multipart('ab', UPLOAD), 'multipart/form-data; boundary=ab')).not.toBe(asBytes(multipart('ab', UPLOAD)));
  });

  // Many handlers (formidable, hand-rolled parsers) take the boundary with
  // /boundary=(?:"([^"]+)"|([^;]+))/i: the first `boundary=` in the header, wherever it is;
  // busboy 0.x (multer before 1.4.5) the first parameter named boundary, an RFC 2231
  // `boundary*=` too. Framed by another boundary than theirs, two bodies that are one upload
  // to us (they differ only in our boundary) can be two to them: our delimiters sit inside their part.
  const THEIRS = /boundary=(?:"([^"]+)"|([^;]+))/i;
  for (const [name, contentType] of [
    ['a parameter whose name ends in boundary', (b: string) => `multipart/form-data; xboundary=T; boundary=${b}`],
    ["an RFC 2231 boundary*= before it (busboy 0.x's boundary)", (b: string) => `multipart/form-data; boundary*=utf-8''T; boundary=${b}`],
    ['boundary= inside a quoted parameter', (b: string) => `multipart/form-data; note="a;boundary=T;"; boundary=${b}`],
  ] as const) {
    it(`${name}: two uploads to a parser taking that boundary are not one payload (422, run once)`, async () => {
      if (!name.includes('2231')) expect(THEIRS.exec(contentType('b1'))?.[2]).toBe('T');
      runs.length = 0;
      // To us: two parts (X-Part 1 and 2) framed by `b`; to them one part framed by T, whose
      // value runs through our delimiter between the two.
      const body = (b: string) => `--${b}\r\nX-Part: 1\r\n\r\n--T\r\nContent-Disposition: form-data; name="amount"\r\n\r\n10\r\n--${b}\r\nX-Part: 2\r\n\r\n0\r\n--T--\r\n--${b}--\r\n`;
      const theirValue = (b: string) => /--T\r\n[^]*?\r\n\r\n([^]*)\r\n--T--/.exec(body(b))![1];
      expect(theirValue('b1')).toBe('10\r\n--b1\r\nX-Part: 2\r\n\r\n0');
      expect(theirValue('b2')).toBe('10\r\n--b2\r\nX-Part: 2\r\n\r\n0');
      const key = `their-boundary-${name.length}`;
      const upload = (b: string) => post(`${url}/photos`, { key, raw: new Uint8Array(Buffer.from(body(b), 'latin1')), headers: { 'Content-Type': contentType(b) } });
      expect((await upload('b1')).status).toBe(200);
      const second = await upload('b2');
      expect(second.headers.get('idempotent-replayed')).toBeNull();
      expect(second.status).toBe(422);
      expect(runs).toHaveLength(1);
    });
  }

  it('as before the change: the fingerprint of the bytes kind (no new kind for a body that does not parse)', () => {
    const raw = Buffer.from(`junk${SAME}`, 'latin1');
    const asMultipart = payloadFingerprint({ method: 'POST', path: '/p', query: '', body: raw, contentType: 'multipart/form-data; boundary=q' });
    expect(asMultipart).toBe(payloadFingerprint({ method: 'POST', path: '/p', query: '', body: raw, contentType: 'application/octet-stream' }));
  });

  it('one preamble under two boundaries: 422, as before (preamble and epilogue are not read through)', async () => {
    runs.length = 0;
    expect((await send('preamble-boundaries', `hi\r\n${multipart('b1', UPLOAD)}`, 'b1')).status).toBe(200);
    expect((await send('preamble-boundaries', `hi\r\n${multipart('b2', UPLOAD)}`, 'b2')).status).toBe(422);
  });
});

describe('behind Express', () => {
  for (const [version, lib] of [
    ['5', express],
    ['4', express4],
  ] as const) {
    it(`Express ${version}, after express.json() (multipart left to the middleware) or express.raw(): a retry with another boundary is replayed`, async () => {
      for (const parser of [lib.json(), lib.raw({ type: 'multipart/form-data' })]) {
        let ran = 0;
        const app = lib();
        app.use(parser);
        app.use(idempotency({ principal: false }));
        app.post('/photos', (_req, res) => {
          ran++;
          res.send(`stored ${ran}`);
        });
        const target = await serve(app);
        expect((await send('express', multipart('e1', UPLOAD), 'e1', target)).status).toBe(200);
        const retry = await send('express', multipart('e2', UPLOAD), 'e2', target);
        expect(retry.headers.get('idempotent-replayed')).toBe('true');
        expect((await send('express', multipart('e3', [field('caption', 'other')]), 'e3', target)).status).toBe(422);
        expect(ran).toBe(1);
      }
    });
  }
});

describe('across the upgrade', () => {
  it('a key a multipart upload claimed before (its bytes fingerprinted): the retry, even as the same bytes, is 422 and runs nothing', async () => {
    const B = 'X';
    const raw = `--${B}\r\nContent-Disposition: form-data; name="caption"\r\n\r\nholiday\r\n--${B}\r\nContent-Disposition: form-data; name="photo"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\nAAA\r\n--${B}--\r\n`;
    const store = memoryStore();
    // What the version before stored for this upload (computed with its code): sha256 over its bytes.
    const fingerprint = 'j72EwlwLXcc87zaMNvrrtK2XqdsgxKTXPomtND64QiM';
    const key = JSON.stringify([null, 'POST', '/photos', 'before-upgrade']);
    const now = Date.now();
    const claim = await store.claim({ key, fingerprint, leaseMs: 60_000, retentionMs: 60_000, now, recover: false });
    if (claim.status !== 'claimed') throw new Error(`expected a claim, got ${claim.status}`);
    await store.complete({ key, token: claim.token, fingerprint, response: { status: 200, headers: {}, body: new TextEncoder().encode('stored before') }, retentionMs: 60_000, now });
    let ran = 0;
    const target = await serve(
      idempotency({ principal: false, store }).handler((_req, res) => {
        ran++;
        res.end('stored after');
      }),
    );
    expect((await send('before-upgrade', raw, B, target)).status).toBe(422);
    expect(ran).toBe(0);
  });
});
