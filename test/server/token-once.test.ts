// Token mode promises "each token runs once". One token ran twice, counted at the handler,
// when it was still unexpired after its stored answer was dropped (retention shorter than
// the token's lifetime: `--ttl-ms 60000` with the default 1 h token).
import { describe, expect, it } from 'vitest';
import { parseCli, UsageError } from '../../src/server/cli-args.js';
import { createVerifier, InvalidOptionsError, TOKEN_PATH, type IssuedToken } from '../../src/server/index.js';
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

});
