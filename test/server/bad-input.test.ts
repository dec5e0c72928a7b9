import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, type Verifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';
import { rawRequest } from '../helpers/raw-request.js';

let verifier: Verifier;
let url: string;

beforeAll(async () => {
  verifier = createVerifier({ maxBodyBytes: 64 * 1024 });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());

function requestWithKey(keyBytes: string, body = '{}'): string {
  return `POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nIdempotency-Key: ${keyBytes}\r\n\r\n${body}`;
}

async function stillUp(): Promise<void> {
  const answer = await post(`${url}/orders`, { key: `alive-${Math.random()}`, body: { item: 'tea' } });
  expect(answer.status).toBe(201);
}

describe('bad input', () => {
  it('fingerprints a form as a form (the protocol rule: field order does not matter), other bodies as they are', async () => {
    const form = (raw: string) => post(`${url}/echo`, { key: 'form', raw, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    expect((await form('a=1&b=2')).status).toBe(200);
    expect((await form('a=1&b=2')).headers.get('idempotent-replayed')).toBe('true');
    expect((await form('b=2&a=1')).headers.get('idempotent-replayed')).toBe('true');
    expect((await form('a=1&b=3')).status).toBe(422);
    // The same text without the form content type is compared as it is.
    expect((await post(`${url}/echo`, { key: 'text', raw: 'a=1&b=2', headers: { 'Content-Type': 'text/plain' } })).status).toBe(200);
    expect((await post(`${url}/echo`, { key: 'text', raw: 'b=2&a=1', headers: { 'Content-Type': 'text/plain' } })).status).toBe(422);

    const binary = new Uint8Array([0, 255, 1, 254, 0x7b]);
    expect((await post(`${url}/echo`, { key: 'bin', raw: binary, headers: { 'Content-Type': 'application/octet-stream' } })).status).toBe(200);
    expect((await post(`${url}/echo`, { key: 'bin', raw: new Uint8Array([0, 255, 1, 254, 0x7c]) })).status).toBe(422);

    const broken = await post(`${url}/orders`, { key: 'broken-json', raw: '{"item": ', headers: { 'Content-Type': 'application/json' } });
    expect(broken.status).toBe(400);
    await stillUp();
  });

  it('answers 413 for bodies over the limit, declared or chunked', async () => {
    const huge = new Uint8Array(200 * 1024).fill(0x61);
    const declared = await post(`${url}/orders`, { key: 'huge-1', raw: huge, headers: { 'Content-Type': 'text/plain' } });
    expect(declared.status).toBe(413);
    expect(declared.json().type).toBe('https://submit-once.dev/problems/body-too-large');

    const chunk = 'a'.repeat(16 * 1024);
    const chunks = Array.from({ length: 8 }, () => `${chunk.length.toString(16)}\r\n${chunk}\r\n`).join('');
    const chunked = await rawRequest(
      url,
      `POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nIdempotency-Key: huge-2\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}0\r\n\r\n`,
    );
    expect(chunked.startsWith('HTTP/1.1 413')).toBe(true);
    await stillUp();
  });

  it('rejects keys with control, non-ASCII or injected characters, and never reflects the key in headers', async () => {
    for (const key of ['a\x00b', 'a\x7fb', 'a\tb', 'caf\xe9', '"a\\qb"', 'a, b']) {
      const answer = await rawRequest(url, requestWithKey(key));
      expect(answer, JSON.stringify(key)).toMatch(/^HTTP\/1\.1 400/);
    }
    // CR or LF inside a header value is refused by Node's parser before any handler runs.
    for (const key of ['a\rb', 'a\nb']) {
      const answer = await rawRequest(url, requestWithKey(key)).catch(() => 'HTTP/1.1 400 (connection reset)');
      expect(answer).toMatch(/^HTTP\/1\.1 400/);
    }
    const injected = await rawRequest(url, requestWithKey('inj-1\r\nX-Injected: 1'));
    expect(injected).toMatch(/^HTTP\/1\.1 201/);
    expect(injected.toLowerCase()).not.toContain('x-injected');
    expect(injected.toLowerCase()).not.toContain('inj-1');
    await stillUp();
  });

  it('rejects a request with two different keys', async () => {
    const answer = await rawRequest(
      url,
      'POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 2\r\nIdempotency-Key: a\r\nIdempotency-Key: b\r\n\r\n{}',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
  });

  it('rejects two key lines even when one is empty (Node would join them into "a,")', async () => {
    for (const [first, second] of [['a', ''], ['', 'a'], ['a', 'a']]) {
      const answer = await rawRequest(
      url,
        `POST /orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\nIdempotency-Key: ${first}\r\nIdempotency-Key: ${second}\r\n\r\n{}`,
      );
      expect(answer, JSON.stringify([first, second])).toMatch(/^HTTP\/1\.1 400/);
      expect(answer).toContain('key-malformed');
    }
    await stillUp();
  });

  it('answers 400 body-too-deep, never 500, for JSON nested deeper than 64 levels, and stays up', async () => {
    const deep = (n: number): string => '['.repeat(n) + ']'.repeat(n);
    const hostile = await post(`${url}/orders`, { key: 'deep-5000', raw: deep(5_000), headers: { 'Content-Type': 'application/json' } });
    expect(hostile.status).toBe(400);
    expect(hostile.headers.get('content-type')).toBe('application/problem+json');
    expect(hostile.json().type).toBe('https://submit-once.dev/problems/body-too-deep');
    // Deep JSON under another content type is still fingerprinted as JSON, so it is refused the same way.
    expect((await post(`${url}/echo`, { key: 'deep-text', raw: deep(20_000), headers: { 'Content-Type': 'text/plain' } })).status).toBe(400);
    expect((await post(`${url}/orders`, { key: 'deep-65', raw: `{"a":${deep(64)}}`, headers: { 'Content-Type': 'application/json' } })).status).toBe(400);
    expect((await post(`${url}/echo`, { key: 'deep-64', raw: `{"a":${deep(63)}}`, headers: { 'Content-Type': 'application/json' } })).status).toBe(200);
    await stillUp();
  });

  it('gives a thousand distinct keys one execution each and stays up', async () => {
    verifier.middleware.resetStats();
    for (let batch = 0; batch < 20; batch++) {
      const answers = await Promise.all(
        Array.from({ length: 50 }, (_, i) => post(`${url}/orders`, { key: `many-${batch}-${i}`, body: { n: batch * 50 + i } })),
      );
      expect(answers.every((a) => a.status === 201)).toBe(true);
    }
    const stats = verifier.stats();
    expect(stats.totals.executions).toBe(1_000);
    expect(stats.totals).toMatchObject({ rerunsAfterRelease: 0, recoveryRuns: 0, unknownOutcomes: 0 });
    expect(stats.keys).toHaveLength(1_000);
    await stillUp();
  });
});
