import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrdersApi } from '../../src/server/orders-api.js';
import { createVerifier, fileStore, InvalidOptionsError, memoryStore, postgresStore, redisStore, TOKEN_PATH, type IdempotencyStore, type IssuedToken } from '../../src/server/index.js';
import { tokenAuthority } from '../../src/server/tokens.js';
import { isValidKey, parseKey, formatKey } from '../../src/protocol/index.js';
import { post } from '../helpers/post.js';
import { hasRedisServer, startRedis, type RedisProcess } from './redis-process.js';
import { hasPostgres, startPostgres, type PostgresProcess } from '../support/postgres-process.js';

const SECRET = 'test-secret-0123456789-abcdefghijklmnop';
const NEW_SECRET = 'rotated-secret-0123456789-abcdefghijklm';
const TTL = 60_000;
const alice = { Authorization: 'Bearer alice' };
const bob = { Authorization: 'Bearer bob' };

describe('tokenAuthority', () => {
  const tokens = tokenAuthority({ secrets: [SECRET], ttl: TTL });

  it('issues keys under the protocol grammar, unique per issue, that parse back unchanged', () => {
    const a = tokens.issue('p', 0).token;
    const b = tokens.issue('p', 0).token;
    expect(a).not.toBe(b);
    expect(isValidKey(a)).toBe(true);
    expect(parseKey(formatKey(a))).toEqual({ ok: true, key: a });
    expect(a.length).toBeLessThan(100);
  });

  it('accepts its own token for the principal it was issued to, until expiry', () => {
    const { token, expiresAt } = tokens.issue('p', 1000);
    expect(expiresAt).toBe(1000 + TTL);
    expect(tokens.check(token, 'p', 1000 + TTL - 1)).toEqual({ ok: true, expired: false, scope: 'token' });
    expect(tokens.check(token, 'p', 1000 + TTL)).toEqual({ ok: true, expired: true, scope: 'token' });
  });

  it('issues st2 (claimed once whatever the route), st1 with format st1, and accepts both either way', () => {
    const st1 = tokenAuthority({ secrets: [SECRET], format: 'st1' });
    const old = st1.issue('p', 0).token;
    const fresh = tokens.issue('p', 0).token;
    expect([old.slice(0, 4), fresh.slice(0, 4)]).toEqual(['st1.', 'st2.']);
    for (const authority of [tokens, st1]) {
      expect(authority.check(old, 'p', 0)).toEqual({ ok: true, expired: false, scope: 'route' });
      expect(authority.check(fresh, 'p', 0)).toEqual({ ok: true, expired: false, scope: 'token' });
    }
    // The MAC covers the version: relabelled, either is refused (an st2 token as st1 would be claimed once a route).
    expect(tokens.check(`st1${fresh.slice(3)}`, 'p', 0).ok).toBe(false);
    expect(tokens.check(`st2${old.slice(3)}`, 'p', 0).ok).toBe(false);
    expect(tokens.check(`st3${fresh.slice(3)}`, 'p', 0).ok).toBe(false);
  });

  it('refuses another principal, a changed part, another spelling of the signature, and plain keys', () => {
    const { token } = tokens.issue('p', 0);
    const parts = token.split('.');
    const problem = (key: string, principal: string | undefined = 'p') => {
      const check = tokens.check(key, principal, 0);
      return check.ok ? 'accepted' : check.problem;
    };
    expect(problem(token, 'q')).toBe('token-invalid');
    expect(tokens.check(token, undefined, 0).ok).toBe(false);
    // A later expiry written in: the MAC covers it.
    expect(problem([parts[0], parts[1], 'zzzzzzzz', parts[3], parts[4]].join('.'))).toBe('token-invalid');
    // Another first character (a random part that already starts with 'A' would be unchanged by 'A').
    const changed = (parts[3]![0] === 'A' ? 'B' : 'A') + parts[3]!.slice(1);
    expect(problem([parts[0], parts[1], parts[2], changed, parts[4]].join('.'))).toBe('token-invalid');
    // Node's base64url decoder would skip these: the text itself must match.
    expect(problem(`${token}=`)).toBe('token-invalid');
    expect(problem(`${token.slice(0, -2)}!${token.slice(-2)}`)).toBe('token-invalid');
    expect(problem('4f1c2a9e-3d7b-4c1a-9f2e-0a1b2c3d4e5f')).toBe('token-invalid');
    expect(problem(`${token}.x`)).toBe('token-invalid');
  });

  it('rotates: signs with the first secret, accepts under any listed, refuses a dropped one', () => {
    const old = tokenAuthority({ secrets: [SECRET] }).issue('p', 0).token;
    const rotated = tokenAuthority({ secrets: [NEW_SECRET, SECRET] });
    expect(rotated.check(old, 'p', 0).ok).toBe(true);
    const fresh = rotated.issue('p', 0).token;
    expect(tokenAuthority({ secrets: [NEW_SECRET] }).check(fresh, 'p', 0).ok).toBe(true);
    expect(tokenAuthority({ secrets: [NEW_SECRET] }).check(old, 'p', 0).ok).toBe(false);
    expect(tokenAuthority({ secrets: [SECRET] }).check(fresh, 'p', 0).ok).toBe(false);
  });

  it('refuses weak or missing secrets and a bad ttl when created', () => {
    expect(() => tokenAuthority({ secrets: [] })).toThrow(/at least one secret/);
    expect(() => tokenAuthority({ secrets: ['short'] })).toThrow(/at least 32 characters/);
    expect(() => tokenAuthority({ secrets: [SECRET], ttl: 0 })).toThrow(/tokens.ttl/);
    // The typed error the other options throw, still a RangeError.
    expect(() => tokenAuthority({ secrets: [SECRET], format: 'st3' as 'st2' })).toThrow(/tokens.format/);
    for (const bad of [{ secrets: [] }, { secrets: ['short'] }, { secrets: [SECRET], ttl: 0 }, { secrets: [SECRET], format: 'ST2' as 'st2' }]) {
      expect(() => tokenAuthority(bad)).toThrow(InvalidOptionsError);
      expect(() => tokenAuthority(bad)).toThrow(RangeError);
    }
  });
});

/** The verifier in token mode on one store, with its clock in the test's hands. */
function tokenModeSuite(name: string, openStore: () => Promise<IdempotencyStore>): void {
  describe(`token mode on the verifier (${name} store)`, () => {
    let clock = 1_000_000;
    const api = createOrdersApi();
    let verifier: ReturnType<typeof createVerifier>;
    let url: string;

    beforeAll(async () => {
      verifier = createVerifier({ store: await openStore(), handler: api, tokens: { secrets: [SECRET], ttl: TTL }, now: () => clock });
      url = await verifier.listen(0);
    });
    afterAll(() => verifier.close());

    const issue = async (headers: Record<string, string> = alice): Promise<IssuedToken> => {
      const res = await fetch(`${url}${TOKEN_PATH}`, { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      return (await res.json()) as IssuedToken;
    };
    const order = (key: string, headers: Record<string, string> = alice, body: unknown = { item: 'tea' }) =>
      post(`${url}/orders`, { key, body, headers });
    const orders = () => api.orders().length;

    it('runs a token once: the first use claims it, a repeat replays (counted at the handler)', async () => {
      const before = orders();
      const { token } = await issue();
      const first = await order(token);
      expect(first.status).toBe(201);
      const again = await order(token);
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(again.text).toBe(first.text);
      expect(orders()).toBe(before + 1);
      // Reused with another payload: the usual 422, never a second run.
      expect((await order(token, alice, { item: 'coffee' })).json().type).toMatch(/key-reused$/);
      expect(orders()).toBe(before + 1);
    });

    it('refuses keys it did not issue, forged tokens and another principal\'s token, with token-invalid, before any run', async () => {
      const before = orders();
      const { token } = await issue();
      const forged = `${token.slice(0, -4)}AAAA`;
      for (const [key, headers] of [
        [crypto.randomUUID(), alice],
        [forged, alice],
        [token, bob],
        [token, {}],
      ] as const) {
        const answer = await order(key, headers);
        expect(answer.status).toBe(400);
        expect(answer.json().type).toBe('https://submit-once.dev/problems/token-invalid');
      }
      expect(orders()).toBe(before);
      // Still unused: its owner can spend it.
      expect((await order(token)).status).toBe(201);
      expect(orders()).toBe(before + 1);
    });

    it('refuses an expired token\'s first use (nothing runs, the key stays free) but replays one used in time', async () => {
      const before = orders();
      const late = await issue();
      const used = await issue();
      const first = await order(used.token);
      clock += TTL + 1;
      try {
        for (let i = 0; i < 2; i++) {
          const refused = await order(late.token);
          expect(refused.status).toBe(400);
          expect(refused.json().type).toBe('https://submit-once.dev/problems/token-expired');
        }
        const replay = await order(used.token);
        expect(replay.status).toBe(201);
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(replay.text).toBe(first.text);
        expect(orders()).toBe(before + 1);
      } finally {
        clock -= TTL + 1;
      }
    });

    it('answers the token endpoint with GET only, and keeps plain requests (GET) unguarded', async () => {
      expect((await fetch(`${url}${TOKEN_PATH}`, { method: 'POST' })).status).toBe(405);
      expect((await fetch(`${url}/orders`)).status).toBe(200);
    });
  });
}

tokenModeSuite('memory', async () => memoryStore());

const dir = mkdtempSync(join(tmpdir(), 'submit-once-tokens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
tokenModeSuite('file', async () => fileStore(join(dir, 'keys.jsonl')));

let redis: RedisProcess | undefined;
let client: Redis | undefined;
afterAll(async () => {
  await client?.quit();
  await redis?.stop();
});
if (hasRedisServer()) {
  tokenModeSuite('redis', async () => {
    redis = await startRedis();
    client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
    return redisStore(client, { prefix: 'tokens:' });
  });
}

let postgres: PostgresProcess | undefined;
let pool: pg.Pool | undefined;
afterAll(async () => {
  await pool?.end();
  await postgres?.stop();
});
// CI installs PostgreSQL, and its own suite (postgres-store.test.ts) insists on it there.
if (hasPostgres()) {
  tokenModeSuite('postgres', async () => {
    postgres = await startPostgres();
    pool = new pg.Pool({ connectionString: postgres.url, max: 5 });
    // An idle connection the server closes (at shutdown) is an 'error' on its pool, which
    // unheard would fail the whole run.
    pool.on('error', () => undefined);
    return postgresStore(pool, { table: 'token_keys' });
  });
}

describe('token mode without the option', () => {
  it('serves no token endpoint, and issueToken says what is missing', async () => {
    const verifier = createVerifier();
    const url = await verifier.listen(0);
    try {
      expect((await fetch(`${url}${TOKEN_PATH}`)).status).not.toBe(200);
      await expect(verifier.middleware.issueToken({ headers: {} } as never)).rejects.toThrow(/needs the tokens option/);
    } finally {
      await verifier.close();
    }
  });
});

/** The bin on a spare port with these flags; the caller kills it. */
async function startBin(flags: string[]): Promise<{ child: ReturnType<typeof spawn>; base: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server/bin.ts', '--port', '0', ...flags], { stdio: ['ignore', 'pipe', 'pipe'] });
  const base = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const found = /listening on (http:\/\/\S+)/.exec(out);
      if (found) resolve(found[1]!);
    });
    child.once('exit', (code) => reject(new Error(`bin exited ${code}: ${out}`)));
  });
  return { child, base };
}

describe('the bin in token mode', () => {
  it('--token-secret: serves tokens, runs one once, refuses a plain key', async () => {
    const { child, base } = await startBin(['--token-secret', SECRET]);
    try {
      const { token } = (await (await fetch(`${base}${TOKEN_PATH}`)).json()) as IssuedToken;
      expect(token).toMatch(/^st2\./);
      const first = await post(`${base}/orders`, { key: token, body: { item: 'tea' } });
      expect(first.status).toBe(201);
      expect((await post(`${base}/orders`, { key: token, body: { item: 'tea' } })).headers.get('idempotent-replayed')).toBe('true');
      const plain = await post(`${base}/orders`, { key: crypto.randomUUID(), body: { item: 'tea' } });
      expect(plain.json().type).toBe('https://submit-once.dev/problems/token-invalid');
      const listed = (await (await fetch(`${base}/orders`)).json()) as { orders: unknown[] };
      expect(listed.orders).toHaveLength(1);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('--token-format st1 issues st1 tokens (a rolling upgrade, older instances still serving)', async () => {
    const { child, base } = await startBin(['--token-secret', SECRET, '--token-format', 'st1']);
    try {
      const { token } = (await (await fetch(`${base}${TOKEN_PATH}`)).json()) as IssuedToken;
      expect(token).toMatch(/^st1\./);
      expect((await post(`${base}/orders`, { key: token, body: { item: 'tea' } })).status).toBe(201);
    } finally {
      child.kill('SIGTERM');
    }
  });
});
