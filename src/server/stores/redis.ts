import { createHash } from 'node:crypto';
import { checkNumber, InvalidOptionsError } from '../invalid-options-error.js';
import { Deadlines } from './deadlines.js';
import { finiteNow } from './finite-now.js';
import { decodeResponse, encodeResponseJson, type EncodedResponse } from './record.js';
import { evalScript, StepBatcher, type Arg } from './redis-batch.js';
import { evictionCheck } from './redis-eviction.js';
import { CLEAR, MAX_PEXPIRE_MS, SWEEP, type Step } from './redis-scripts.js';
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

/** Redoes a step whose call failed this many times at most, 50 ms apart and doubling (about 25 s in all). */
const REDO_ATTEMPTS = 10;
const REDO_FIRST_DELAY_MS = 50;

/**
 * The few commands the store needs; an `ioredis` client fits as is, and so does anything
 * with the same methods. ioredis is not a dependency of this package.
 */
export interface RedisLikeClient {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  evalsha?(sha1: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
  /** Used by `sweep` and `clear` only. */
  scan?(cursor: string | number, matchToken: 'MATCH', pattern: string, countToken: 'COUNT', count: number): Promise<[string, string[]]>;
  quit?(): Promise<unknown>;
  /** Closes the connection without a word to Redis: on close, when `quit()` goes unanswered (ioredis has it). */
  disconnect?(): void;
  /** Set by ioredis's `Cluster`: each command then touches one key, as a cluster requires. */
  readonly isCluster?: boolean;
  /**
   * A cluster's masters (ioredis's `Cluster#nodes('master')`), for `sweep` and `clear`: a
   * SCAN cursor belongs to one node, and the cluster sends a command without a key to any.
   */
  nodes?(role: 'master'): readonly Pick<RedisLikeClient, 'scan'>[];
  /**
   * ioredis's options: a `keyPrefix` there is put before the keys of every script call,
   * but not before SCAN's pattern, and SCAN answers whole key names. `sweep` and `clear`
   * scan under it and take it off each name again.
   */
  readonly options?: { readonly keyPrefix?: string };
}

export interface RedisStoreOptions {
  /**
   * Prefix of every Redis key this store writes; not empty. Default `submit-once:`. Other
   * keys under it are left alone by `sweep` and `clear`; two apps sharing one Redis need
   * prefixes of their own, or a key sent to both is one key. No store's prefix may start
   * with another's (`app:`, `app:v2:`): `clear` under the shorter deletes the other's
   * records, whose retries then run again.
   */
  readonly prefix?: string;
  /** A command that takes longer fails with 503 instead of hanging the request. Default 2 s. */
  readonly operationTimeoutMs?: number;
  /**
   * Extra life Redis gives a record past its logical expiry. With `clock: 'caller'`, room
   * for an app server whose clock runs ahead of Redis's: Redis would otherwise drop its
   * records while they still count as live. Default 60 s.
   */
  readonly expiryMarginMs?: number;
  /**
   * Whose clock judges leases and retention. `'store'` (the default): Redis's own (`TIME`,
   * read once a script call), so app servers sharing one Redis need not agree on the time,
   * and one whose clock runs ahead cannot take another's running run for dead (and run its
   * handler again beside it) nor a completed one for expired. `'caller'`: the `now` each
   * call passes (the middleware's `now` option), for tests that move time by hand; app
   * servers sharing the store must then keep their clocks within well under `leaseMs`.
   */
  readonly clock?: 'store' | 'caller';
  /**
   * Call `client.quit()` on close; for a client the store was given to own. Default false.
   * Unanswered within `operationTimeoutMs`, the connection is closed (`client.disconnect()`)
   * and `close()` rejects with a `StoreUnavailableError`.
   */
  readonly closeClient?: boolean;
}

/**
 * Keys in Redis, shared by every server instance: each step runs inside a Lua script, so
 * a claim is atomic across processes; the steps queued while a call is in flight share
 * the next call (`StepBatcher`). Leases and retention are judged by Redis's clock unless
 * `clock: 'caller'`; `sweep(now)` then drops what has expired by Redis's clock, whatever `now`.
 *
 * @example
 * import Redis from 'ioredis';
 * idempotency({ store: redisStore(new Redis(process.env.REDIS_URL)) });
 */
export function redisStore(client: RedisLikeClient, options: RedisStoreOptions = {}): IdempotencyStore {
  // Else accepted, and every claim then failed as if Redis were down (503), hiding the mistake.
  if (typeof client?.eval !== 'function' || (client.evalsha !== undefined && typeof client.evalsha !== 'function')) {
    throw new InvalidOptionsError('client', 'expected a Redis client with an eval() method (an ioredis client, for one)');
  }
  const prefix = options.prefix ?? 'submit-once:';
  // An empty prefix would have clear() and sweep() scan the whole database.
  if (typeof prefix !== 'string' || prefix === '') throw new InvalidOptionsError('prefix', `expected a non-empty string, got ${JSON.stringify(prefix)}`);
  const timeoutMs = checkNumber('operationTimeoutMs', options.operationTimeoutMs ?? 2_000, 0, false);
  const margin = checkNumber('expiryMarginMs', options.expiryMarginMs ?? 60_000, 0, true, Number.MAX_VALUE);
  if (options.clock !== undefined && options.clock !== 'store' && options.clock !== 'caller') {
    throw new InvalidOptionsError('clock', `expected 'store' or 'caller', got ${JSON.stringify(options.clock)}`);
  }
  // A step's `now`: empty has the script read Redis's clock.
  const stamp: (now: number) => Arg = options.clock === 'caller' ? finiteNow : () => '';
  // Told apart from a failed call: a completion or a release that timed out is sent again (`settleStep`).
  const timeouts = new WeakSet<Error>();
  const deadlines = new Deadlines(timeoutMs, () => {
    const error = new StoreUnavailableError(`Redis did not answer within ${timeoutMs} ms`);
    timeouts.add(error);
    return error;
  });
  const run = scriptRunner(client, deadlines);
  const checkEviction = evictionCheck(client);
  // A claim answered 503 on its deadline, or whose call failed with its connection, may
  // have claimed the key in Redis all the same: nobody holds that claim and its handler
  // never ran, so it is freed by its token's unique part (the `free` step). Left alone, it
  // would answer the retry 409 and then `outcome-unknown` for the key's whole retention.
  // A recovering claim took over an unknown outcome, which stays unknown (the script reads it).
  const freeArgs = (claim: readonly Arg[]): Arg[] => {
    const retentionMs = Number(claim[6]);
    return [claim[1]!, claim[2]!, retentionMs, pexpireMs(retentionMs + margin)];
  };
  const lateClaim = (step: Step, key: string, args: readonly Arg[], reply: unknown): void => {
    if (step !== 'claim' || !Array.isArray(reply) || reply[0] !== 'claimed') return;
    // Redone until it is answered, as a lost step is: a free whose call went unanswered
    // left the claim held by nobody, and the key outcome-unknown for its retention.
    const again = freeArgs(args);
    handed.add(again);
    redo('free', key, again, 0);
  };
  // A step of a call that failed may not have reached Redis, or may have run with its
  // reply lost (no resend, or the resend lost too). It is redone once Redis answers again,
  // asked 50 ms apart and doubling while a client that fails fast reconnects: a claim is
  // freed as above; a completion, release or
  // markUnknown is sent again, as each answers done when it finds its own result, so that a
  // run whose completion a blip lost is replayed, not outcome-unknown for its retention.
  // A renewal is not: the next one comes. A completion, release or markUnknown that timed
  // out is sent again the same way: whether it was sent or not, it may never run otherwise.
  // Each step's arguments are handed over once (a step may time out and then fail with
  // its call), and a redone step's are never handed over again: `redo` retries it itself.
  const handed = new WeakSet<readonly Arg[]>();
  const retries = new Set<NodeJS.Timeout>();
  const redo = (step: Step, key: string, args: readonly Arg[], attempt: number): void => {
    steps.run(step, key, args).catch(() => {
      if (attempt + 1 >= REDO_ATTEMPTS || closed) return;
      const timer = setTimeout(() => {
        retries.delete(timer);
        if (!closed) redo(step, key, args, attempt + 1);
      }, REDO_FIRST_DELAY_MS * 2 ** attempt);
      timer.unref();
      retries.add(timer);
    });
  };
  const lostStep = (step: Step, key: string, args: readonly Arg[]): void => {
    if (closed || step === 'renew' || handed.has(args)) return;
    handed.add(args);
    const again = step === 'claim' ? freeArgs(args) : [...args];
    handed.add(again);
    redo(step === 'claim' ? 'free' : step, key, again, 0);
  };
  const settleStep = async (step: 'complete' | 'settle', key: string, args: Arg[]): Promise<unknown> => {
    try {
      return await steps.run(step, key, args);
    } catch (error) {
      if (timeouts.has(error as Error)) lostStep(step, key, args);
      throw error;
    }
  };
  let closed = false;
  const steps: StepBatcher = new StepBatcher(client, deadlines, client.isCluster === true ? 1 : 256, lateClaim, lostStep);

  const keyPrefix = typeof client.options?.keyPrefix === 'string' ? client.options.keyPrefix : '';
  const scanAll = async (each: (keys: string[]) => Promise<void>): Promise<void> => {
    let scanned: readonly Pick<RedisLikeClient, 'scan'>[] = [client];
    if (client.isCluster === true) {
      if (client.nodes === undefined) throw new TypeError("submit-once: this Redis cluster client has no nodes('master') to scan");
      scanned = client.nodes('master');
    }
    for (const node of scanned) {
      if (node.scan === undefined) throw new TypeError('submit-once: this Redis client has no scan()');
      let cursor = '0';
      do {
        const [next, keys] = await deadlines.watch(node.scan(cursor, 'MATCH', `${escapeGlob(keyPrefix + prefix)}*`, 'COUNT', 500));
        cursor = next;
        // Each key's script goes through the client, which sends it to the key's node.
        if (keys.length > 0) await each(keyPrefix === '' ? keys : keys.map((key) => key.slice(keyPrefix.length)));
      } while (cursor !== '0');
    }
  };

  return {
    name: 'redis',
    async claim(request: ClaimRequest): Promise<ClaimResult> {
      checkEviction();
      const reply = await steps.run('claim', prefix + request.key, [
        request.fingerprint,
        newTokenSuffix(),
        stamp(request.now),
        request.leaseMs,
        pexpireMs(request.leaseMs + request.retentionMs + margin),
        request.recover ? '1' : '0',
        request.retentionMs,
      ]);
      return parseClaim(reply, request.now);
    },
    async complete(request: CompleteRequest): Promise<boolean> {
      const reply = await settleStep('complete', prefix + request.key, [
        request.token,
        request.fingerprint,
        stamp(request.now),
        request.retentionMs,
        encodeResponseJson(request.response),
        pexpireMs(request.retentionMs + margin),
      ]);
      return Number(reply) === 1;
    },
    async release(request: SettleRequest): Promise<boolean> {
      return Number(await settleStep('settle', prefix + request.key, settleArgs(request, 'x', stamp, margin))) === 1;
    },
    async markUnknown(request: SettleRequest): Promise<boolean> {
      return Number(await settleStep('settle', prefix + request.key, settleArgs(request, 'u', stamp, margin))) === 1;
    },
    async renew(request: RenewRequest): Promise<boolean> {
      const reply = await steps.run('renew', prefix + request.key, [request.token, stamp(request.now), request.leaseMs, pexpireMs(request.leaseMs + margin)]);
      return Number(reply) === 1;
    },
    async sweep(now: number): Promise<number> {
      let dropped = 0;
      await scanAll(async (keys) => {
        for (const key of keys) dropped += Number(await run(SWEEP, key, [stamp(now)]));
      });
      return dropped;
    },
    async clear(): Promise<void> {
      await scanAll(async (keys) => {
        for (const key of keys) await run(CLEAR, key, []);
      });
    },
    async close(): Promise<void> {
      closed = true;
      for (const timer of retries) clearTimeout(timer);
      retries.clear();
      if (options.closeClient !== true || client.quit === undefined) return;
      try {
        // Bounded as every other command: a Redis gone silent never answers QUIT.
        await deadlines.watch(client.quit());
      } catch (error) {
        // Closed all the same, so that no socket keeps the process running; the caller still learns it was not clean.
        client.disconnect?.();
        throw error;
      }
    },
  };
}

function settleArgs(request: SettleRequest, state: 'x' | 'u', stamp: (now: number) => Arg, margin: number): Arg[] {
  return [request.token, state, stamp(request.now), request.retentionMs, pexpireMs(request.retentionMs + margin)];
}

/**
 * A Redis expiry: PEXPIRE takes whole milliseconds, written as digits, so a lease of
 * 100 / 3 ms or a retention of 1e21 ms (which JavaScript writes with an exponent) failed
 * the script after it had written the record, leaving it with no expiry at all.
 */
function pexpireMs(ms: number): number {
  return Math.min(Math.ceil(ms), MAX_PEXPIRE_MS);
}

/** `now`: the caller's, to which an in-progress answer's time left is added (the lease end on the caller's clock). */
function parseClaim(reply: unknown, now: number): ClaimResult {
  if (!Array.isArray(reply) || typeof reply[0] !== 'string') {
    throw new StoreUnavailableError(`unexpected reply from Redis: ${JSON.stringify(reply)}`);
  }
  const [status, second, third, fourth] = reply as [string, string, string, string | undefined];
  switch (status) {
    case 'claimed':
      return { status: 'claimed', token: second, executions: Number(third), rerun: fourth === 'recovery' || fourth === 'after-release' ? fourth : 'none' };
    case 'in-progress':
      return { status: 'in-progress', fingerprint: second, leaseExpiresAt: now + Number(third) };
    case 'unknown':
      return { status: 'unknown', fingerprint: second, executions: Number(third) };
    default:
      return { status: 'completed', fingerprint: second, response: decodeResponse(JSON.parse(third) as EncodedResponse), executions: Number(fourth) };
  }
}

/** One script over one key (sweep, clear), under the store's deadline. */
function scriptRunner(client: RedisLikeClient, deadlines: Deadlines) {
  const shas = new Map<string, string>();
  return async (script: string, key: string, args: Arg[]): Promise<unknown> => {
    let sha = shas.get(script);
    if (sha === undefined) {
      sha = createHash('sha1').update(script).digest('hex');
      shas.set(script, sha);
    }
    try {
      return await deadlines.watch(evalScript(client, script, sha, 1, [key, ...args]));
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error;
      throw new StoreUnavailableError(`Redis command failed: ${String((error as { message?: unknown }).message ?? error)}`, { cause: error });
    }
  };
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
