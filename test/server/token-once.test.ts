// Token mode promises "each token runs once". Two ways one token ran twice, counted at the
// handler: a token still unexpired after its stored answer was dropped (retention shorter
// than the token's lifetime), and one principal spelt two ways ('' and none) that the
// token's MAC takes as one caller and the storage key as two.
import { createHash, createHmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/server/cli-args.js';
import { createVerifier, InvalidOptionsError, TOKEN_PATH, type IssuedToken } from '../../src/server/index.js';
import { tokenAuthority } from '../../src/server/tokens.js';
import { post } from '../helpers/post.js';

const SECRET = 'token-once-test-secret-0123456789-abcdef';

describe('a token runs once', () => {
  it('a token lifetime longer than the retention of its answer is refused when the middleware is made', () => {
    // Before: accepted, and a token reused after its answer's retention (still unexpired) ran again.
    expect(() => createVerifier({ ttl: 60_000, tokens: { secrets: [SECRET], ttl: 60 * 60 * 1000 } })).toThrow(InvalidOptionsError);
    expect(() => createVerifier({ ttl: 60_000, tokens: { secrets: [SECRET] } })).toThrow(/tokens\.ttl/);
    // Equal is enough: the answer is stored after the token was issued, so it outlives the token.
    expect(() => createVerifier({ ttl: 60_000, tokens: { secrets: [SECRET], ttl: 60_000 } })).not.toThrow();
  });

  it('the bin refuses --token-ttl-ms longer than --ttl-ms (its default 1 h included), as a usage error', () => {
    const usage = (argv: string[]) => {
      try {
        parseCli(argv, {});
        return 'accepted';
      } catch (error) {
        return error instanceof UsageError ? error.message : error;
      }
    };
    expect(usage(['--token-secret', SECRET, '--ttl-ms', '60000'])).toBe('--token-ttl-ms (3600000, the default) must be at most --ttl-ms (60000): a token reused after its answer is dropped would run again');
    expect(usage(['--token-secret', SECRET, '--ttl-ms', '60000', '--token-ttl-ms', '60001'])).toMatch(/^--token-ttl-ms \(60001\) must be at most --ttl-ms \(60000\)/);
    expect(usage(['--token-secret', SECRET, '--ttl-ms', '60000', '--token-ttl-ms', '60000'])).toBe('accepted');
    expect(usage(['--ttl-ms', '60000'])).toBe('accepted');
  });

  it('a token reused after its answer was dropped (token lifetime = retention) is token-expired: one run', async () => {
    let runs = 0;
    let clock = 1_000_000;
    const verifier = createVerifier({
      ttl: 60_000,
      tokens: { secrets: [SECRET], ttl: 60_000 },
      principal: false,
      now: () => clock,
      handler: (_req, res) => {
        runs++;
        res.statusCode = 201;
        res.end('ordered');
      },
    });
    const url = await verifier.listen(0);
    try {
      const { token } = (await (await fetch(`${url}${TOKEN_PATH}`)).json()) as IssuedToken;
      clock += 1_000;
      expect((await post(`${url}/orders`, { key: token, body: {} })).status).toBe(201);
      clock += 60_001;
      const reused = await post(`${url}/orders`, { key: token, body: {} });
      expect(reused.status).toBe(400);
      expect(reused.json().type).toMatch(/token-expired$/);
      expect(runs).toBe(1);
    } finally {
      await verifier.close();
    }
  });

  it('an empty principal and none are not one caller to the token and two to the store', async () => {
    let runs = 0;
    const verifier = createVerifier({
      tokens: { secrets: [SECRET] },
      // A gateway's header: empty for some anonymous requests, absent for others.
      principal: (req: IncomingMessage) => req.headers['x-user'] as string | undefined,
      handler: (_req, res) => {
        runs++;
        res.statusCode = 201;
        res.end('ordered');
      },
    });
    const url = await verifier.listen(0);
    try {
      const { token } = (await (await fetch(`${url}${TOKEN_PATH}`)).json()) as IssuedToken;
      expect((await post(`${url}/orders`, { key: token, body: { item: 'tea' } })).status).toBe(201);
      const again = await post(`${url}/orders`, { key: token, body: { item: 'tea' }, headers: { 'X-User': '' } });
      // Before: 201 and a second run. A replay, or a refusal, would both be one run.
      expect(again.status === 201 && again.headers.get('idempotent-replayed') === null).toBe(false);
      expect(runs).toBe(1);
    } finally {
      await verifier.close();
    }
  });

  it('binds an empty principal apart from none, and keeps the tokens issued before valid for none and for a named principal', () => {
    const tokens = tokenAuthority({ secrets: [SECRET] });
    expect(tokens.check(tokens.issue(undefined, 0).token, '', 0).ok).toBe(false);
    expect(tokens.check(tokens.issue('', 0).token, undefined, 0).ok).toBe(false);
    expect(tokens.check(tokens.issue('', 0).token, '', 0).ok).toBe(true);
    // A number principal's storage key is not its text's: one token is not both.
    expect(tokens.check(tokens.issue(42 as unknown as string, 0).token, '42', 0).ok).toBe(false);
    // Signed as before this change: `${body}\0${principal ?? ''}`.
    const kid = createHash('sha256').update(SECRET).digest('base64url').slice(0, 8);
    const before = (principal: string | undefined) => {
      const body = `st2.${kid}.${(10_000).toString(36)}.bm9uY2Utbm9uY2Utbm9uY2U`;
      return `${body}.${createHmac('sha256', SECRET).update(`${body}\0${principal ?? ''}`).digest('base64url')}`;
    };
    expect(tokens.check(before(undefined), undefined, 0)).toEqual({ ok: true, expired: false, scope: 'token' });
    expect(tokens.check(before('user-7'), 'user-7', 0)).toEqual({ ok: true, expired: false, scope: 'token' });
  });
});
