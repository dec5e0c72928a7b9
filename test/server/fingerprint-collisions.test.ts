/**
 * Two different payloads under one key must never share one answer: the second is 422
 * `key-reused`, not the first one's response replayed. Each case here once had one
 * fingerprint for two bodies the handler (or an upstream) reads as different intents.
 */
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVerifier, idempotency, type Verifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';
import { startServer } from '../helpers/http-server.js';

let verifier: Verifier;
let url: string;
/** What the origin ran, in order: the exact bytes and query each run saw. */
const runs: string[] = [];

beforeAll(async () => {
  verifier = createVerifier({
    handler: (req, res) => {
      const seen = `${req.url} ${req.rawBody?.toString('latin1') ?? ''}`;
      runs.push(seen);
      res.setHeader('Content-Type', 'text/plain');
      res.end(`ran ${seen}`);
    },
  });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());

async function twice(key: string, first: { path?: string; raw: string; type: string }, second: { path?: string; raw: string; type: string }) {
  runs.length = 0;
  const send = (r: { path?: string; raw: string; type: string }) =>
    post(`${url}${r.path ?? '/pay'}`, { key, raw: new Uint8Array(Buffer.from(r.raw, 'latin1')), headers: { 'Content-Type': r.type } });
  const a = await send(first);
  const b = await send(second);
  return { a, b, runs: [...runs] };
}

const FORM = 'application/x-www-form-urlencoded';

describe('form fields and queries that are not UTF-8', () => {
  it('a latin1 form: name=%E9 (é) and name=%E8 (è) are two payloads (both decoded to U+FFFD before)', async () => {
    const { a, b, runs } = await twice('latin1-form', { raw: 'name=%E9', type: `${FORM}; charset=ISO-8859-1` }, { raw: 'name=%E8', type: `${FORM}; charset=ISO-8859-1` });
    expect(a.status).toBe(200);
    expect(runs).toHaveLength(1);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.status).toBe(422);
  });

  it('a query: ?sig=%FF and ?sig=%FE are two payloads', async () => {
    const { b } = await twice('bytes-query', { path: '/pay?sig=%FF', raw: '', type: 'text/plain' }, { path: '/pay?sig=%FE', raw: '', type: 'text/plain' });
    expect(b.status).toBe(422);
  });

  it('a stray %: a=%zz and a=%25zz are two payloads', async () => {
    const { b } = await twice('stray-percent', { raw: 'a=%zz', type: FORM }, { raw: 'a=%25zz', type: FORM });
    expect(b.status).toBe(422);
  });

  it('still one payload: UTF-8 forms and queries in another field order, %41 for A, + for %20', async () => {
    const one = await twice('utf8-form', { path: '/pay?b=2&a=%C3%A9', raw: 'x=%C3%A9+1&y=A', type: FORM }, { path: '/pay?a=%c3%a9&b=2', raw: 'y=%41&x=%C3%A9%201', type: FORM });
    expect(one.b.headers.get('idempotent-replayed')).toBe('true');
    expect(one.runs).toHaveLength(1);
  });

  it('a form that is not UTF-8 still replays when sent again as it was', async () => {
    const { b, runs } = await twice('latin1-again', { raw: 'name=%E9&x=1', type: FORM }, { raw: 'name=%E9&x=1', type: FORM });
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toHaveLength(1);
  });
});

describe('JSON numbers a double cannot hold', () => {
  const json = 'application/json';
  it('9007199254740993 and 9007199254740992 are two amounts (one double, so one fingerprint, before)', async () => {
    const { a, b, runs } = await twice('big-int', { raw: '{"amount":9007199254740993}', type: json }, { raw: '{"amount":9007199254740992}', type: json });
    expect(a.status).toBe(200);
    expect(runs).toEqual(['/pay {"amount":9007199254740993}']);
    expect(b.status).toBe(422);
  });

  it('0.10000000000000001 and 0.1 are two amounts to a decimal parser', async () => {
    const { b } = await twice('decimal', { raw: '{"amount":0.10000000000000001}', type: json }, { raw: '{"amount":0.1}', type: json });
    expect(b.status).toBe(422);
  });

  it('1e400 and null, 1e-400 and 0 are two payloads (Infinity is written null, an underflow 0)', async () => {
    expect((await twice('overflow', { raw: '[1e400]', type: json }, { raw: '[null]', type: json })).b.status).toBe(422);
    expect((await twice('underflow', { raw: '[1e-400]', type: json }, { raw: '[0]', type: json })).b.status).toBe(422);
  });

  it('still one payload: 1, 1.0 and 1e0; other member order and whitespace; a big number sent again as it was', async () => {
    const one = await twice('one-number', { raw: '{"b":1,"a":[1.0, 2.50]}', type: json }, { raw: '{ "a" : [1e0,25e-1], "b" : 1.000 }', type: json });
    expect(one.b.headers.get('idempotent-replayed')).toBe('true');
    const big = await twice('big-again', { raw: '{"amount":9007199254740993}', type: json }, { raw: '{"amount":9007199254740993}', type: json });
    expect(big.b.headers.get('idempotent-replayed')).toBe('true');
    expect(big.runs).toHaveLength(1);
  });
});

describe('JSON that is not UTF-8', () => {
  it('a latin1 JSON body: {"name":"Jos\\xE9"} and {"name":"Jos\\xE8"} are two payloads (both parsed as U+FFFD before)', async () => {
    const latin1 = 'application/json; charset=iso-8859-1';
    const { a, b, runs } = await twice('latin1-json', { raw: '{"name":"Jos\xE9"}', type: latin1 }, { raw: '{"name":"Jos\xE8"}', type: latin1 });
    expect(a.status).toBe(200);
    expect(runs).toEqual(['/pay {"name":"Jos\xE9"}']);
    expect(b.status).toBe(422);
  });

  it('still one payload: the same latin1 bytes sent again', async () => {
    const { b, runs } = await twice('latin1-json-again', { raw: '{"name":"Jos\xE9"}', type: 'application/json' }, { raw: '{"name":"Jos\xE9"}', type: 'application/json' });
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(runs).toHaveLength(1);
  });
});

describe('JSON with a member name twice', () => {
  const json = 'application/json';
  it('{"amount":1,"amount":100} and {"amount":100} are two payloads (JSON.parse keeps the last; a first-wins parser sees 1)', async () => {
    const { a, b, runs } = await twice('dup-json', { raw: '{"amount":1,"amount":100}', type: json }, { raw: '{"amount":100}', type: json });
    expect(a.status).toBe(200);
    expect(runs).toHaveLength(1);
    expect(b.status).toBe(422);
  });

  it('nested, and as text/plain: two payloads', async () => {
    expect((await twice('dup-nested', { raw: '[{"to":"a","to":"b"}]', type: json }, { raw: '[{"to":"b"}]', type: json })).b.status).toBe(422);
    expect((await twice('dup-text', { raw: '{"to":"a","to":"b"}', type: 'text/plain' }, { raw: '{"to":"b"}', type: 'text/plain' })).b.status).toBe(422);
  });

  it('nested deeper than 64 levels, with a name twice: still refused as too deep, not compared as text', async () => {
    const deep = '{"a":'.repeat(100) + '1' + '}'.repeat(100);
    for (const type of [json, 'text/plain']) {
      const answer = await post(`${url}/pay`, { key: `dup-deep-${type}`, raw: `{"x":1,"x":2,"d":${deep}}`, headers: { 'Content-Type': type } });
      expect(answer.json().type).toBe('https://submit-once.dev/problems/body-too-deep');
    }
  });

  it('still one payload: colons inside strings, member order, and a duplicate sent again as it was', async () => {
    const colons = await twice('colons', { raw: '{"at":"13:06:32","url":"https://x","n":{"a":1}}', type: json }, { raw: '{"n":{"a":1},"url":"https://x","at":"13:06:32"}', type: json });
    expect(colons.b.headers.get('idempotent-replayed')).toBe('true');
    const again = await twice('dup-again', { raw: '{"a":1,"a":2}', type: json }, { raw: '{"a":1,"a":2}', type: json });
    expect(again.b.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('behind express.json()', () => {
  it('the middleware gets the parse, not the text: a big number and a repeated name are one payload there, as they are to the handler', async () => {
    const seen: unknown[] = [];
    const app = express();
    app.use(express.json(), idempotency({ principal: false }));
    app.post('/pay', (req, res) => {
      seen.push(req.body);
      res.json(req.body);
    });
    const server = await startServer(app);
    try {
      const send = (key: string, raw: string) => post(`${server.url}/pay`, { key, raw, headers: { 'Content-Type': 'application/json' } });
      await send('e1', '{"amount":9007199254740993}');
      expect((await send('e1', '{"amount":9007199254740992}')).headers.get('idempotent-replayed')).toBe('true');
      await send('e2', '{"amount":1,"amount":100}');
      expect((await send('e2', '{"amount":100}')).headers.get('idempotent-replayed')).toBe('true');
      expect(seen).toEqual([{ amount: 9007199254740992 }, { amount: 100 }]);
    } finally {
      await server.close();
    }
  });
});
