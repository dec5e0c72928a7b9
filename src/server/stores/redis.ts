import { createHash } from 'node:crypto';
import { Deadlines } from './deadlines.js';
import { decodeResponse, encodeResponse, type EncodedResponse } from './record.js';
import { newTokenSuffix } from './token.js';
import {
  StoreUnavailableError,
  type ClaimRequest,
  type ClaimResult,
  type CompleteRequest,
  type IdempotencyStore,
  type RenewRequest,
  type SettleRequest,
} from './types.js';

type Arg = string | number;

/**
 * The few commands the store needs; an `ioredis` client fits as is, and so does anything
 * with the same methods. ioredis is not a dependency of this package.
 */
export interface RedisLikeClient {
  eval(script: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  evalsha?(sha1: string, numKeys: number, ...args: Arg[]): Promise<unknown>;
  /** Used by `sweep` and `clear` only. */
  scan?(cursor: string | number, matchToken: 'MATCH', pattern: string, countToken: 'COUNT', count: number): Promise<[string, string[]]>;
  quit?(): Promise<unknown>;
}

export interface RedisStoreOptions {
  /** Prefix of every Redis key this store writes. Default `submit-once:`. */
  readonly prefix?: string;
  /** A command that takes longer fails with 503 instead of hanging the request. Default 2 s. */
  readonly operationTimeoutMs?: number;
  /** Extra life Redis gives a record past its logical expiry, as a safety net for clock skew. Default 60 s. */
  readonly expiryMarginMs?: number;
  /** Call `client.quit()` on close; for a client the store was given to own. Default false. */
  readonly closeClient?: boolean;
}

// Records are hashes: s = state (p running, d done, u unknown, x released), f =
// fingerprint, t = token, n = execution count (the fencing number), l = lease end, m =
// retention after the lease (running), e = retention end (others), r = encoded response.
// Expiry is checked against the caller's clock (ARGV) so every store shares one notion
// of time, and PEXPIRE lets Redis drop the record on its own once that time has surely
// passed. The state machine is the one of RecordTable (table.ts).
const LIVE = `
local function live(r, now)
  -- Records written before execution counts have no m (nor n): they count as one run.
  if r[1] == 'p' then return tonumber(r[5]) + (tonumber(r[6]) or 0) > now end
  if r[1] == false then return false end
  return tonumber(r[7]) > now
end`;

// ARGV: fingerprint, token suffix, now, lease end, pexpire, recover (1/0), retention
const CLAIM = `${LIVE}
local r = redis.call('HMGET', KEYS[1], 's', 'f', 't', 'n', 'l', 'm', 'e', 'r')
local now = tonumber(ARGV[3])
local s = r[1]
local n = 0
if live(r, now) then n = tonumber(r[4]) or 1 else s = false end
if s == 'd' then return {'completed', r[2], r[8], tostring(n)} end
if s == 'p' and tonumber(r[5]) > now then return {'in-progress', r[2], r[5]} end
local rerun = 'none'
if s == 'p' or s == 'u' then
  if ARGV[6] ~= '1' or r[2] ~= ARGV[1] then return {'unknown', r[2], tostring(n)} end
  rerun = 'recovery'
elseif s == 'x' then
  rerun = 'after-release'
end
n = n + 1
local token = tostring(n) .. '.' .. ARGV[2]
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', 'p', 'f', ARGV[1], 't', token, 'n', n, 'l', ARGV[4], 'm', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return {'claimed', token, tostring(n), rerun}`;

// ARGV: token, fingerprint, retention end, response, pexpire. The holder may complete
// after its lease ran out or it was marked unknown, as long as nobody took over.
const COMPLETE = `
local r = redis.call('HMGET', KEYS[1], 's', 't', 'n')
if (r[1] ~= 'p' and r[1] ~= 'u') or r[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', 'd', 'f', ARGV[2], 'n', r[3] or 1, 'e', ARGV[3], 'r', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1`;

// ARGV: token, new state (x or u), retention end, pexpire
const SETTLE = `
local r = redis.call('HMGET', KEYS[1], 's', 't', 'f', 'n')
if r[1] ~= 'p' or r[2] ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', ARGV[2], 'f', r[3], 't', r[2], 'n', r[4] or 1, 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1`;

// ARGV: token, lease end, lease ms + margin
const RENEW = `
local r = redis.call('HMGET', KEYS[1], 's', 't', 'm')
if r[1] ~= 'p' or r[2] ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'l', ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + (tonumber(r[3]) or 0))
return 1`;

const SWEEP = `${LIVE}
local r = redis.call('HMGET', KEYS[1], 's', 'f', 't', 'n', 'l', 'm', 'e')
if r[1] ~= false and live(r, tonumber(ARGV[1])) then return 0 end
return redis.call('DEL', KEYS[1])`;

/**
 * Keys in Redis, shared by every server instance: each step is one Lua script, so a
 * claim is atomic across processes.
 *
 * @example
 * import Redis from 'ioredis';
 * idempotency({ store: redisStore(new Redis(process.env.REDIS_URL)) });
 */
export function redisStore(client: RedisLikeClient, options: RedisStoreOptions = {}): IdempotencyStore {
  const prefix = options.prefix ?? 'submit-once:';
  const timeoutMs = options.operationTimeoutMs ?? 2_000;
  const margin = options.expiryMarginMs ?? 60_000;
  const deadlines = new Deadlines(timeoutMs, () => new StoreUnavailableError(`Redis did not answer within ${timeoutMs} ms`));
  const run = scriptRunner(client, deadlines);

  const scanAll = async (each: (keys: string[]) => Promise<void>): Promise<void> => {
    if (client.scan === undefined) throw new TypeError('submit-once: this Redis client has no scan()');
    let cursor = '0';
    do {
      const [next, keys] = await deadlines.watch(client.scan(cursor, 'MATCH', `${escapeGlob(prefix)}*`, 'COUNT', 500));
      cursor = next;
      if (keys.length > 0) await each(keys);
    } while (cursor !== '0');
  };

  return {
    name: 'redis',
    async claim(request: ClaimRequest): Promise<ClaimResult> {
      const reply = await run(CLAIM, prefix + request.key, [
        request.fingerprint,
        newTokenSuffix(),
        request.now,
        request.now + request.leaseMs,
        request.leaseMs + request.retentionMs + margin,
        request.recover ? '1' : '0',
        request.retentionMs,
      ]);
      return parseClaim(reply);
    },
    async complete(request: CompleteRequest): Promise<boolean> {
      const reply = await run(COMPLETE, prefix + request.key, [
        request.token,
        request.fingerprint,
        request.now + request.retentionMs,
        JSON.stringify(encodeResponse(request.response)),
        request.retentionMs + margin,
      ]);
      return Number(reply) === 1;
    },
    async release(request: SettleRequest): Promise<boolean> {
      return Number(await run(SETTLE, prefix + request.key, settleArgs(request, 'x', margin))) === 1;
    },
    async markUnknown(request: SettleRequest): Promise<boolean> {
      return Number(await run(SETTLE, prefix + request.key, settleArgs(request, 'u', margin))) === 1;
    },
    async renew(request: RenewRequest): Promise<boolean> {
      const reply = await run(RENEW, prefix + request.key, [request.token, request.now + request.leaseMs, request.leaseMs + margin]);
      return Number(reply) === 1;
    },
    async sweep(now: number): Promise<number> {
      let dropped = 0;
      await scanAll(async (keys) => {
        for (const key of keys) dropped += Number(await run(SWEEP, key, [now]));
      });
      return dropped;
    },
    async clear(): Promise<void> {
      await scanAll(async (keys) => {
        for (const key of keys) await run('return redis.call("DEL", KEYS[1])', key, []);
      });
    },
    async close(): Promise<void> {
      if (options.closeClient === true) await client.quit?.();
    },
  };
}

function settleArgs(request: SettleRequest, state: 'x' | 'u', margin: number): Arg[] {
  return [request.token, state, request.now + request.retentionMs, request.retentionMs + margin];
}

function parseClaim(reply: unknown): ClaimResult {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') {
    throw new StoreUnavailableError(`unexpected reply from Redis: ${JSON.stringify(reply)}`);
  }
  const [status, second, third, fourth] = reply as [string, string, string, string | undefined];
  switch (status) {
    case 'claimed':
      return { status: 'claimed', token: second, executions: Number(third), rerun: fourth === 'recovery' || fourth === 'after-release' ? fourth : 'none' };
    case 'in-progress':
      return { status: 'in-progress', fingerprint: second, leaseExpiresAt: Number(third) };
    case 'unknown':
      return { status: 'unknown', fingerprint: second, executions: Number(third) };
    default:
      return { status: 'completed', fingerprint: second, response: decodeResponse(JSON.parse(third) as EncodedResponse), executions: Number(fourth) };
  }
}

/** EVALSHA first (the script body is sent once per connection), EVAL when Redis does not know it yet. */
function scriptRunner(client: RedisLikeClient, deadlines: Deadlines) {
  const shas = new Map<string, string>();
  return async (script: string, key: string, args: Arg[]): Promise<unknown> => {
    try {
      if (client.evalsha !== undefined) {
        let sha = shas.get(script);
        if (sha === undefined) {
          sha = createHash('sha1').update(script).digest('hex');
          shas.set(script, sha);
        }
        try {
          return await deadlines.watch(client.evalsha(sha, 1, key, ...args));
        } catch (error) {
          if (!String((error as { message?: unknown }).message).includes('NOSCRIPT')) throw error;
        }
      }
      return await deadlines.watch(client.eval(script, 1, key, ...args));
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError(`Redis command failed: ${String((error as { message?: unknown }).message ?? error)}`, { cause: error });
    }
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
