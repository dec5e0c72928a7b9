/**
 * Claims of the README's "Server verifier" section that no other test held:
 * "Errors are `application/problem+json` (RFC 9457) and never echo the key", and
 * "`Set-Cookie` (and auth headers) are never replayed" (even when named in `replayHeaders`).
 */
import { describe, expect, it } from 'vitest';
import { idempotency } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();

/** A key no problem body could contain by chance. */
const KEY = 'readme-claim-key-7f3c9a';

describe('problems never echo the key', () => {
  it('key-reused, request-in-progress, handler-failed, key-malformed, token-invalid: problem+json without the key', async () => {
    let release: () => void = () => {};
    const slow = new Promise<void>((resolve) => (release = resolve));
    const mw = idempotency({ principal: false });
    const url = await serve(
      mw.handler(async (req, res) => {
        if (req.url === '/slow') await slow;
        if (req.url === '/throw') throw new Error(`boom ${KEY}`);
        res.statusCode = 201;
        res.setHeader('content-type', 'application/json');
        res.end('{"ok":true}');
      }),
    );
    const tokenMw = idempotency({ principal: false, tokens: { secrets: ['s'.repeat(32)] } });
    const tokenUrl = await serve(tokenMw.handler((_req, res) => res.end('{}')));

    expect((await post(`${url}/orders`, { key: KEY, body: { a: 1 } })).status).toBe(201);
    const pendingSlow = post(`${url}/slow`, { key: KEY, body: { a: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const problems = {
      'key-reused': await post(`${url}/orders`, { key: KEY, body: { a: 2 } }),
      'request-in-progress': await post(`${url}/slow`, { key: KEY, body: { a: 1 } }),
      'handler-failed': await post(`${url}/throw`, { key: KEY, body: { a: 1 } }),
      'key-malformed': await post(`${url}/orders`, { key: `"${KEY}`, body: { a: 1 } }),
      'token-invalid': await post(`${tokenUrl}/orders`, { key: KEY, body: { a: 1 } }),
    };
    release();
    expect((await pendingSlow).status).toBe(201);

    for (const [code, answer] of Object.entries(problems)) {
      expect(answer.headers.get('content-type'), code).toBe('application/problem+json');
      expect(answer.json().type, code).toBe(`https://submit-once.dev/problems/${code}`);
      expect(answer.text, code).not.toContain(KEY);
      for (const [name, value] of answer.headers) expect(`${name}: ${value}`, code).not.toContain(KEY);
    }
  });
});

describe('credentials are never replayed', () => {
  it('Set-Cookie, WWW-Authenticate and Authorization stay out of a replay even when named in replayHeaders', async () => {
    let runs = 0;
    const mw = idempotency({ principal: false, replayHeaders: ['Set-Cookie', 'www-authenticate', 'Authorization', 'X-Order'] });
    const url = await serve(
      mw.handler((_req, res) => {
        runs++;
        res.statusCode = 201;
        res.setHeader('set-cookie', ['session=secret; HttpOnly']);
        res.setHeader('www-authenticate', 'Bearer realm="shop"');
        res.setHeader('authorization', 'Bearer leaked');
        res.setHeader('x-order', '42');
        res.end('{"id":42}');
      }),
    );
    const first = await post(`${url}/orders`, { key: 'cookie-key', body: { a: 1 } });
    expect(first.headers.get('set-cookie')).toContain('session=secret');
    const replay = await post(`${url}/orders`, { key: 'cookie-key', body: { a: 1 } });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe('{"id":42}');
    expect(replay.headers.get('x-order')).toBe('42');
    expect(replay.headers.get('set-cookie')).toBeNull();
    expect(replay.headers.get('www-authenticate')).toBeNull();
    expect(replay.headers.get('authorization')).toBeNull();
    expect(runs).toBe(1);
  });
});
