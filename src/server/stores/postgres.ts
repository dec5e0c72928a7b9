import { AsyncLocalStorage } from 'node:async_hooks';
import { checkNumber, InvalidOptionsError, isInvalidOptionsError, MAX_TIMER_MS } from '../invalid-options-error.js';
import { Deadlines } from './deadlines.js';
import { finiteNow } from './finite-now.js';
import { NoClaimTransactionError } from './no-claim-transaction-error.js';
import { TransactionConnection } from './postgres-connection.js';
import { newTokenSuffix } from './token.js';
import {
  StoreUnavailableError,
  type ClaimRequest,
  type ClaimResult,
  type CompleteRequest,
  type IdempotencyStore,
  type RenewRequest,
  type Rerun,
  type SettleRequest,
  type StoredResponse,
} from './types.js';

/** A query result as `pg` returns it. */
export interface PgResult<Row> {
  readonly rows: Row[];
  readonly rowCount: number | null;
}

/** One connection; a `pg` `PoolClient` fits. */
export interface PgClientLike {
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<Row>>;
}

/** A connection checked out of a pool; a `pg` `PoolClient` fits. */
export interface PgPooledClient extends PgClientLike {
  release(error?: Error | boolean): void;
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
}

/** A `pg` `Pool` fits as is; `pg` is not a dependency of this package. */
export interface PgPoolLike extends PgClientLike {
  connect(): Promise<PgPooledClient>;
  on?(event: 'error', listener: (error: Error) => void): unknown;
  removeListener?(event: 'error', listener: (error: Error) => void): unknown;
  end?(): Promise<void>;
}

export interface PostgresStoreOptions {
  /** Table holding the records, created when missing. Default `submit_once_keys`. A plain identifier (a keyword too; folded to lower case, as Postgres folds a bare name), optionally schema-qualified. */
  readonly table?: string;
  /**
   * Run the handler in the claim's transaction: the claim, the handler's writes (through
   * `store.client()`) and the stored response commit together, and a crash or a throw
   * before the commit leaves none of them, so a retry runs cleanly. Needs every guarded
   * request to run inside `store.scope(...)`. Default false.
   */
  readonly transactional?: boolean;
  /** Call `pool.end()` on close, for a pool the store was given to own. Default false. */
  readonly closePool?: boolean;
  /**
   * A statement on the pool that takes longer fails with 503 instead of hanging the
   * request (a database that accepts connections but does not answer, a lock held by a
   * migration). Transactional: the same for the checkout of the claim's connection and for
   * each statement of its transaction, but for the claim itself, which waits on a running
   * duplicate's row lock by design: the lease plus this. The connection of a transaction
   * that times out is closed, so Postgres rolls it back. Default 2 s.
   */
  readonly operationTimeoutMs?: number;
  /**
   * Whose clock leases and retention are judged on. `'store'` (default): the database's
   * (`clock_timestamp()`), one clock for every server sharing the table, so a server whose
   * own clock runs ahead does not take a running claim for dead. `'caller'`: the `now` of
   * each call (the middleware's `now` option), for tests that drive time by hand; servers
   * sharing the table must then keep their clocks well within `leaseMs` of each other.
   */
  readonly clock?: 'store' | 'caller';
  /**
   * How often this store deletes the records past their retention, in the background (on
   * the database's clock; with `clock: 'caller'`, on `Date.now`); 0 turns it off (call
   * `sweep` yourself). Expired records are taken over by the next claim of their key, but
   * the keys never used again stay in the table until swept. Default 60 s.
   */
  readonly sweepIntervalMs?: number;
}

/** The Postgres store, with the transactional mode's two helpers. */
export interface PostgresStore extends IdempotencyStore {
  readonly transactional: boolean;
  /**
   * Wraps a request listener (or Express middleware) so the transactional mode can hand
   * the claim's transaction to the handler: `http.createServer(store.scope(mw.handler(app)))`.
   */
  scope<A extends unknown[], R>(listener: (...args: A) => R): (...args: A) => R;
  /** The connection inside the current request's claim transaction; throws `NoClaimTransactionError` outside one. */
  client(): PgClientLike;
}

interface Row {
  state: 'in-progress' | 'completed' | 'unknown' | 'released';
  fingerprint: string;
  token: string | null;
  executions: number;
  lease_ends: string | null;
  ends_at: string;
  /** The time the read was made at: the caller's `now`, or the database's clock. */
  now: string;
  status: number | null;
  headers: Record<string, string | string[]> | null;
  body: Buffer | null;
  omitted: number | null;
}

interface OpenTransaction {
  readonly connection: TransactionConnection;
  readonly key: string;
  readonly token: string;
  readonly fingerprint: string;
  readonly executions: number;
}

/** One request's place for its claim transaction (see `scope`). */
interface Slot {
  transaction?: OpenTransaction;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
const LOCK_TIMEOUT = '55P03';
/**
 * A statement that waited on a row another transaction then changed fails with 40001
 * instead of reading the new row when the database runs transactions above READ COMMITTED
 * by default (`default_transaction_isolation`); one caught in a deadlock fails with 40P01.
 * Either way its transaction is rolled back, so running it again is safe.
 */
const CONFLICTS = new Set(['40001', '40P01']);
const MAX_CLAIM_ROUNDS = 10;
const CLAIM_SAVEPOINT = 'submit_once_claimed';
const SAVED_STATEMENT_TIMEOUT = 'submit_once.statement_timeout';

/**
 * Keys in a PostgreSQL table: the storage key is the primary key, and a claim is one
 * `INSERT ... ON CONFLICT ... DO UPDATE ... WHERE <expired> RETURNING` statement, so of
 * any number of concurrent claims exactly one wins, across every server instance.
 *
 * @example
 * import pg from 'pg';
 * idempotency({ store: postgresStore(new pg.Pool({ connectionString: process.env.DATABASE_URL })) });
 */
export function postgresStore(pool: PgPoolLike, options: PostgresStoreOptions = {}): PostgresStore {
  const name = options.table ?? 'submit_once_keys';
  if (!IDENTIFIER.test(name)) throw new InvalidOptionsError('table', `invalid table name ${JSON.stringify(name)}`);
  // Postgres cuts a longer name to its first 63 bytes (NAMEDATALEN), so two stores given two
  // such names would share one table, each replaying the other's answers.
  if (name.split('.').some((part) => part.length > 63)) throw new InvalidOptionsError('table', `table name ${JSON.stringify(name)} has a part longer than 63 characters, which Postgres would cut`);
  // Quoted, so a name that is also a keyword (order, user) works; lower case first, as
  // Postgres folds a bare name, so a mixed-case name keeps naming the table it always did.
  const table = name
    .split('.')
    .map((part) => `"${part.toLowerCase()}"`)
    .join('.');
  const transactional = options.transactional === true;
  const clock = options.clock ?? 'store';
  if (clock !== 'store' && clock !== 'caller') throw new InvalidOptionsError('clock', `expected 'store' or 'caller', got ${JSON.stringify(clock)}`);
  /**
   * The caller's `now` for the statements, or null: they read the database's clock instead.
   * One that is not finite is refused (InvalidOptionsError), as by the other stores, and not
   * left to Postgres, whose refusal of 'NaN'::bigint would read as the database failing.
   */
  const nowOf = (now: number): number | null => (clock === 'caller' ? ms(finiteNow(now)) : null);
  /**
   * `nowOf` for a step of an open claim transaction: a refused `now` ends the transaction
   * with `end` first, or its connection and row lock would stay taken until the server's
   * idle timeout rolled it back, freeing the key.
   */
  const nowIn = async (transaction: OpenTransaction, now: number, end: (transaction: OpenTransaction) => Promise<unknown>): Promise<number | null> => {
    try {
      return nowOf(now);
    } catch (error) {
      await end(transaction);
      throw error;
    }
  };
  const slots = new AsyncLocalStorage<Slot>();
  const open = new Map<string, OpenTransaction>();
  // An idle connection the server ends (a restart, a failover) is an 'error' on the pool:
  // unheard, an uncaught exception that ends the process, where the store answers 503 and
  // the pool connects again on the next query.
  pool.on?.('error', ignoreError);

  const sql = statements(table);
  const timeoutMs = checkNumber('operationTimeoutMs', options.operationTimeoutMs ?? 2_000, 0, false);
  const sweepIntervalMs = checkNumber('sweepIntervalMs', options.sweepIntervalMs ?? 60_000, 0, true, MAX_TIMER_MS);
  const deadlines = new Deadlines(timeoutMs, () => new StoreUnavailableError(`Postgres did not answer within ${timeoutMs} ms`));
  let ready: Promise<void> | undefined;
  let tableExists = false;
  const ensureTable = async (): Promise<void> => {
    if (tableExists) return;
    ready ??= createTable(pool, table, name).then(
      () => {
        tableExists = true;
      },
      (error: unknown) => {
        ready = undefined; // try again on the next call, e.g. once the database is back
        throw error;
      },
    );
    await deadlines.watch(ready);
  };
  /**
   * Runs a statement; connection and server failures become StoreUnavailableError (503), and
   * so does a statement on the pool still unanswered after `timeoutMs`; `late` then gets its
   * result if it comes after all. A statement on the pool, a transaction of its own, is run
   * again after a serialization failure or a deadlock.
   */
  const run = async <R>(client: PgClientLike, text: string, values: unknown[], late?: (result: PgResult<R>) => void): Promise<PgResult<R>> => {
    await ensureTable().catch(unavailable);
    for (let round = 1; ; round++) {
      const pending = client.query<R>(text, values);
      if (client !== pool) return pending.catch(unavailable);
      const result = await deadlines.watch(pending).catch((error: unknown) => {
        if (late !== undefined && error instanceof StoreUnavailableError) pending.then(late, () => undefined);
        if (isConflict(error) && round < MAX_CLAIM_ROUNDS) return undefined;
        return unavailable(error);
      });
      if (result !== undefined) return result;
    }
  };

  /** Claims on `client`; the loop covers a record that changed between the insert and the read. */
  const claimOn = async (client: PgClientLike, request: ClaimRequest, suffix: string): Promise<ClaimResult> => {
    for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
      const won = await run<{ token: string; executions: number; rerun: Rerun }>(
        client,
        sql.claim,
        [request.key, request.fingerprint, suffix, ms(request.leaseMs), nowOf(request.now), ms(request.retentionMs), request.recover],
        // Answered 503 on its deadline, the claim may have taken the key all the same: its
        // handler never ran, so it is freed (a recovery's stays unknown) instead of answering
        // the retry 409 and then outcome-unknown for the key's whole retention.
        (late) => {
          const token = late.rows[0]?.token;
          if (token === undefined || !token.endsWith(`.${suffix}`)) return;
          const settle = late.rows[0]?.rerun === 'recovery' ? sql.markUnknown : sql.release;
          client.query(settle, [request.key, token, nowOf(request.now), ms(request.retentionMs)]).catch(() => undefined);
        },
      );
      const row = won.rows[0];
      if (row !== undefined && row.token.endsWith(`.${suffix}`)) return { status: 'claimed', token: row.token, executions: row.executions, rerun: row.rerun };
      // Lost: the record is live and not ours to take. Read it to say how (it may have changed since: go round).
      const current = (await run<Row>(client, sql.read, [request.key, nowOf(request.now)])).rows[0];
      if (current === undefined) continue;
      const now = Number(current.now);
      if (Number(current.ends_at) <= now || current.state === 'released') continue;
      if (current.state === 'completed') {
        return { status: 'completed', fingerprint: current.fingerprint, response: toResponse(current), executions: current.executions };
      }
      if (current.state === 'in-progress' && Number(current.lease_ends) > now) {
        // The lease left, on the caller's clock (the same with `clock: 'caller'`).
        return { status: 'in-progress', fingerprint: current.fingerprint, leaseExpiresAt: request.now + (Number(current.lease_ends) - now) };
      }
      // A run whose lease ran out, or marked unknown: never free by time alone.
      if (request.recover && current.fingerprint === request.fingerprint) continue;
      return { status: 'unknown', fingerprint: current.fingerprint, executions: current.executions };
    }
    throw new StoreUnavailableError(`the claim of ${request.key} kept changing under contention`);
  };

  const claimInTransaction = async (request: ClaimRequest): Promise<ClaimResult> => {
    const slot = slots.getStore();
    if (slot === undefined) throw new NoClaimTransactionError('outside-scope');
    // Refused before a connection is taken: inside the transaction it would read as a failed claim.
    nowOf(request.now);
    await ensureTable().catch(unavailable);
    for (let round = 1; ; round++) {
      const result = await claimInOneTransaction(request, slot, round < MAX_CLAIM_ROUNDS);
      if (result !== undefined) return result;
    }
  };

  /** One claim transaction; undefined when it failed on a conflict and `again` allows another. */
  const claimInOneTransaction = async (request: ClaimRequest, slot: Slot, again: boolean): Promise<ClaimResult | undefined> => {
    const connection = await TransactionConnection.open(pool, deadlines).catch(unavailable);
    try {
      // A concurrent claim of the same key waits on our row lock: bound the wait by the
      // lease, then answer in-progress. A transaction left idle (a hung handler, or a
      // connection we gave up on whose close never reached the server) is ended by the
      // server, which frees the key. One round trip: no values, so one simple query. A
      // statement_timeout of the connection's (shorter than the lease, say) would cut that
      // wait short into a 503: it is off for the claim, which the lock timeout and our own
      // deadline bound, and put back as it was for the handler's statements.
      await connection.query(
        `BEGIN; SET LOCAL lock_timeout = ${Math.max(1, Math.round(request.leaseMs))}; ` +
          `SET LOCAL idle_in_transaction_session_timeout = ${Math.max(1_000, Math.round(request.leaseMs * 3))}; ` +
          `SELECT set_config('${SAVED_STATEMENT_TIMEOUT}', current_setting('statement_timeout'), true); SET LOCAL statement_timeout = 0`,
      );
      const result = await claimOn(connection.waitingOnLocks(request.leaseMs, timeoutMs), request, newTokenSuffix());
      if (result.status === 'claimed') {
        // markUnknown rolls the handler's writes back to here and turns the claim unknown in
        // this transaction, keeping the row lock: a duplicate waiting on it must not find the key free.
        // Before the savepoint, which a rollback to it would otherwise undo.
        await connection.query(`SELECT set_config('statement_timeout', current_setting('${SAVED_STATEMENT_TIMEOUT}'), true); SAVEPOINT ${CLAIM_SAVEPOINT}`);
        const transaction: OpenTransaction = { connection, key: request.key, token: result.token, fingerprint: request.fingerprint, executions: result.executions };
        slot.transaction = transaction;
        open.set(result.token, transaction);
        return result;
      }
      // Nothing of ours to keep: a ROLLBACK that fails has destroyed the connection, which rolls back as well.
      await connection.query('ROLLBACK').then(() => connection.giveBack(), () => undefined);
      return result;
    } catch (error) {
      // Closing the connection rolls the claim back at the server, even one that lands after we gave up.
      connection.destroy();
      if (codeOf(error) === LOCK_TIMEOUT) {
        // Someone's transaction holds the key: it is running right now.
        return { status: 'in-progress', fingerprint: request.fingerprint, leaseExpiresAt: request.now + request.leaseMs };
      }
      // The key's row changed while the claim waited on it (its holder committed or rolled back): read it anew.
      if (isConflict(error) && again) return undefined;
      return unavailable(error);
    }
  };

  /** Ends a claim transaction with a ROLLBACK: false when it failed (the connection, destroyed, rolls back). */
  const rollBack = async (transaction: OpenTransaction): Promise<boolean> => {
    open.delete(transaction.token);
    return transaction.connection.query('ROLLBACK').then(
      () => {
        transaction.connection.giveBack();
        return true;
      },
      () => false,
    );
  };

  /**
   * Ends a claim transaction keeping only the claim (its handler's writes rolled back): the
   * key stays running until its lease ends and then counts as unknown, as a claim whose
   * settle the other stores refused. A failure has destroyed the connection, which rolls back.
   */
  const keepClaim = async (transaction: OpenTransaction): Promise<void> => {
    open.delete(transaction.token);
    await transaction.connection.query(`ROLLBACK TO SAVEPOINT ${CLAIM_SAVEPOINT}; COMMIT`).then(
      () => transaction.connection.giveBack(),
      () => undefined,
    );
  };

  const store: PostgresStore = {
    name: transactional ? 'postgres-transactional' : 'postgres',
    transactional,
    async claim(request: ClaimRequest): Promise<ClaimResult> {
      return transactional ? claimInTransaction(request) : claimOn(pool, request, newTokenSuffix());
    },
    async complete(request: CompleteRequest): Promise<boolean> {
      const transaction = open.get(request.token);
      const values = (now: number | null): unknown[] => [request.key, request.token, request.fingerprint, now, ms(request.retentionMs), ...responseValues(request.response)];
      if (transaction === undefined) {
        if (transactional) return false;
        return (await run(pool, sql.complete, values(nowOf(request.now)))).rowCount === 1;
      }
      // A refused `now`: not committed, as a completion that failed (the retry runs cleanly).
      const now = await nowIn(transaction, request.now, rollBack);
      const stored = await transaction.connection.query(sql.complete, values(now)).then((result) => result.rowCount === 1, () => false);
      if (!stored) {
        await rollBack(transaction);
        return false;
      }
      // Unanswered in time, the COMMIT may still take effect: the caller is told to retry,
      // which replays it if it did, and runs cleanly if it did not (the handler's writes went
      // with it). The key is not free meanwhile: the row lock holds a retry until it is decided.
      open.delete(transaction.token);
      await transaction.connection.query('COMMIT').catch(unavailable);
      transaction.connection.giveBack();
      return true;
    },
    async release(request: SettleRequest): Promise<boolean> {
      const transaction = open.get(request.token);
      // Transactional: the rollback drops the claim and everything the handler wrote.
      if (transaction !== undefined) return rollBack(transaction);
      if (transactional) return false;
      return (await run(pool, sql.release, [request.key, request.token, nowOf(request.now), ms(request.retentionMs)])).rowCount === 1;
    },
    async markUnknown(request: SettleRequest): Promise<boolean> {
      const transaction = open.get(request.token);
      if (transaction === undefined) {
        if (transactional) return false;
        return (await run(pool, sql.markUnknown, [request.key, request.token, nowOf(request.now), ms(request.retentionMs)])).rowCount === 1;
      }
      // Transactional: the handler's database writes are rolled back (they cannot have
      // happened), but it said an effect elsewhere may have: record that, fenced by its token,
      // in the claim's own transaction. Rolling all of it back first would free the key (or
      // bring back the expired record the claim took over) for whoever comes next; so would
      // leaving it open on a refused `now`.
      const now = await nowIn(transaction, request.now, keepClaim);
      open.delete(transaction.token);
      const { connection } = transaction;
      try {
        await connection.query(`ROLLBACK TO SAVEPOINT ${CLAIM_SAVEPOINT}`);
        const marked = (await connection.query(sql.markUnknown, [request.key, request.token, now, ms(request.retentionMs)])).rowCount === 1;
        await connection.query('COMMIT');
        connection.giveBack();
        return marked;
      } catch {
        // The connection or the transaction failed (and is destroyed): it is rolled back, so
        // insert the record. Its insert waits at the server until that rollback, which a
        // silent link delays to the idle timeout: answered 503 on our deadline, it still
        // lands then, as the server does not cancel it.
      }
      const values = [request.key, transaction.fingerprint, transaction.token, transaction.executions, now, ms(request.retentionMs)];
      return (await run(pool, sql.insertUnknown, values)).rowCount === 1;
    },
    async renew(request: RenewRequest): Promise<boolean> {
      // Transactional: the open transaction's row lock is the lease; it lasts as long as the connection.
      if (transactional) return open.has(request.token);
      return (await run(pool, sql.renew, [request.key, request.token, nowOf(request.now), ms(request.leaseMs)])).rowCount === 1;
    },
    async sweep(now: number): Promise<number> {
      return (await run(pool, sql.sweep, [nowOf(now)])).rowCount ?? 0;
    },
    async clear(): Promise<void> {
      await run(pool, `DELETE FROM ${table}`, []);
    },
    async close(): Promise<void> {
      clearInterval(timer);
      for (const transaction of [...open.values()]) await rollBack(transaction);
      pool.removeListener?.('error', ignoreError);
      if (options.closePool === true) await pool.end?.();
    },
    scope<A extends unknown[], R>(listener: (...args: A) => R): (...args: A) => R {
      return (...args: A): R => slots.run({}, () => listener(...args));
    },
    client(): PgClientLike {
      if (!transactional) throw new NoClaimTransactionError('not-transactional');
      const slot = slots.getStore();
      if (slot === undefined) throw new NoClaimTransactionError('outside-scope');
      const { transaction } = slot;
      if (transaction === undefined || !open.has(transaction.token)) throw new NoClaimTransactionError('no-claim');
      return transaction.connection.client;
    },
  };

  // A failed sweep is tried again at the next tick; one still running is not started twice.
  let sweeping = false;
  const timer =
    sweepIntervalMs > 0
      ? setInterval(() => {
          if (sweeping) return;
          sweeping = true;
          store
            .sweep(Date.now())
            .catch(() => undefined)
            .finally(() => {
              sweeping = false;
            });
        }, sweepIntervalMs)
      : undefined;
  // The sweep must never keep a process alive on its own.
  timer?.unref();
  return store;
}

/**
 * The clock of a statement: the caller's `now` when given (`clock: 'caller'`), else the
 * database's, in ms since the epoch. `clock_timestamp()` and not `now()`: in the
 * transactional mode the claim, the handler's writes and the completion share one
 * transaction, whose `now()` is frozen at its BEGIN, so a completion after a long handler
 * would date its retention from the claim. `clock_timestamp()` is the wall time at each
 * statement, as the caller's `now` is at each call. Read once per statement (in `clock`, a
 * CTE referenced more than once, which Postgres evaluates once), so one statement never
 * judges with two times. A claim that waited on a row lock judged with the time it started
 * at, a bit early: it can only find a record alive that just expired, and its read (a
 * statement of its own) then sees it expired and claims again.
 */
function clockOf(param: string): string {
  return `COALESCE(${param}::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)`;
}

/**
 * The state machine of the other stores (stores/table.ts) in SQL. `executions` counts
 * the key's runs and is the fencing number in the token (`<n>.<unique>`). `ends_at` is
 * when the record is dropped: the retention end, or for a running claim its lease end
 * plus the retention it keeps as `unknown` (`retention_ms`). Times are ms on the clock of
 * `clockOf`: the caller's `now`, passed as a value, or (given null) the database's.
 * $1 key, then per statement below.
 */
function statements(table: string) {
  return {
    // $2 fingerprint, $3 token suffix, $4 lease ms, $5 now, $6 retention ms, $7 recover.
    // Taken when free (past `ends_at`), released, or (recover, same fingerprint) unknown or
    // a run whose lease ran out; the old row decides the count and why this is a rerun.
    claim: `
      WITH clock AS (SELECT ${clockOf('$5')} AS now)
      INSERT INTO ${table} AS r (key, state, fingerprint, token, executions, rerun, lease_ends, retention_ms, ends_at)
      SELECT $1, 'in-progress', $2::text, '1.' || $3::text, 1, 'none', now + $4::bigint, $6::bigint, now + $4::bigint + $6::bigint FROM clock
      ON CONFLICT (key) DO UPDATE SET
        state = 'in-progress', fingerprint = EXCLUDED.fingerprint,
        executions = CASE WHEN r.ends_at <= (SELECT now FROM clock) THEN 1 ELSE r.executions + 1 END,
        token = (CASE WHEN r.ends_at <= (SELECT now FROM clock) THEN 1 ELSE r.executions + 1 END)::text || '.' || $3::text,
        rerun = CASE WHEN r.ends_at <= (SELECT now FROM clock) THEN 'none' WHEN r.state = 'released' THEN 'after-release' ELSE 'recovery' END,
        lease_ends = EXCLUDED.lease_ends, retention_ms = EXCLUDED.retention_ms, ends_at = EXCLUDED.ends_at,
        status = NULL, headers = NULL, body = NULL, omitted = NULL
      WHERE r.ends_at <= (SELECT now FROM clock)
         OR r.state = 'released'
         OR ($7::boolean AND r.fingerprint = $2::text AND (r.state = 'unknown' OR (r.state = 'in-progress' AND r.lease_ends <= (SELECT now FROM clock))))
      RETURNING token, executions, rerun`,
    // $2 now
    read: `SELECT state, fingerprint, token, executions, lease_ends, ends_at, status, headers, body, omitted, ${clockOf('$2')} AS now FROM ${table} WHERE key = $1`,
    // $2 token, $3 fingerprint, $4 now, $5 retention ms, $6.. response. The holder may
    // complete after its lease ran out or it was marked unknown, as long as nobody took over.
    complete: `
      UPDATE ${table}
        SET state = 'completed', fingerprint = $3, token = NULL, lease_ends = NULL, ends_at = ${clockOf('$4')} + $5::bigint,
            status = $6, headers = $7, body = $8, omitted = $9
        WHERE key = $1 AND token = $2 AND state IN ('in-progress', 'unknown')`,
    // $2 token, $3 now, $4 retention ms
    release: `UPDATE ${table} SET state = 'released', lease_ends = NULL, ends_at = ${clockOf('$3')} + $4::bigint WHERE key = $1 AND token = $2 AND state = 'in-progress'`,
    markUnknown: `UPDATE ${table} SET state = 'unknown', lease_ends = NULL, ends_at = ${clockOf('$3')} + $4::bigint WHERE key = $1 AND token = $2 AND state = 'in-progress'`,
    // $2 fingerprint, $3 token, $4 executions, $5 now, $6 retention ms: the transactional
    // mode's unknown, after its rollback. That rollback brought back the record the claim
    // took over (past its retention, or released): it is replaced, or the next claim would
    // take it over again and run beside an effect that may have happened. A record someone
    // claimed or completed since is left alone.
    insertUnknown: `
      WITH clock AS (SELECT ${clockOf('$5')} AS now)
      INSERT INTO ${table} AS r (key, state, fingerprint, token, executions, rerun, ends_at)
      SELECT $1, 'unknown', $2, $3, $4, 'none', now + $6::bigint FROM clock
      ON CONFLICT (key) DO UPDATE SET
        state = 'unknown', fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token, executions = EXCLUDED.executions,
        rerun = 'none', lease_ends = NULL, retention_ms = NULL, ends_at = EXCLUDED.ends_at,
        status = NULL, headers = NULL, body = NULL, omitted = NULL
      WHERE r.ends_at <= (SELECT now FROM clock) OR r.state = 'released'`,
    // $2 token, $3 now, $4 lease ms
    renew: `
      UPDATE ${table} SET lease_ends = clock.now + $4::bigint, ends_at = clock.now + $4::bigint + retention_ms
        FROM (SELECT ${clockOf('$3')} AS now) AS clock
        WHERE key = $1 AND token = $2 AND state = 'in-progress'`,
    // $1 now (a subquery: evaluated once, not per row). A row locked by a running claim
    // (the transactional mode's, taking an expired record over) is skipped: waiting on it
    // would hold the sweep, and the rows it already locked (other keys' claims), until
    // that handler ends. Rows locked here are checked anew (READ COMMITTED), so one a claim
    // took over just before is left.
    sweep: `
      DELETE FROM ${table} WHERE key IN (
        SELECT key FROM ${table} WHERE ends_at <= (SELECT ${clockOf('$1')}) FOR UPDATE SKIP LOCKED)`,
  };
}

const COLUMNS = {
  key: 'text PRIMARY KEY',
  state: "text NOT NULL CHECK (state IN ('in-progress', 'completed', 'unknown', 'released'))",
  fingerprint: 'text NOT NULL',
  token: 'text',
  executions: 'integer NOT NULL',
  rerun: 'text NOT NULL',
  lease_ends: 'bigint',
  retention_ms: 'bigint',
  ends_at: 'bigint NOT NULL',
  status: 'integer',
  headers: 'jsonb',
  body: 'bytea',
  omitted: 'integer',
};

/**
 * Creates the table when missing, then checks that it has every column: one made by an
 * older version of this store would otherwise fail each statement with Postgres's
 * 'column ... does not exist', a 503 for every request with nothing naming the cause.
 */
async function createTable(pool: PgClientLike, table: string, name: string): Promise<void> {
  const columns = Object.entries(COLUMNS).map(([column, type]) => `${column} ${type}`);
  try {
    await pool.query(`CREATE TABLE IF NOT EXISTS ${table} (${columns.join(', ')})`);
  } catch (error) {
    // Two instances creating the table at once: one wins, the other sees a duplicate type.
    if ((error as { code?: unknown }).code !== '23505' && (error as { code?: unknown }).code !== '42P07') throw error;
  }
  // `::regclass` finds the table as the statements do (the search path, for a bare name).
  const found = await pool.query<{ attname: string }>('SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped', [table]);
  const have = new Set(found.rows.map((row) => row.attname));
  const missing = Object.keys(COLUMNS).filter((column) => !have.has(column));
  if (missing.length > 0) {
    throw new InvalidOptionsError(
      'table',
      `table ${JSON.stringify(name)} lacks the columns ${missing.join(', ')}: it was made by an older version of this store. ` +
        `Drop it (DROP TABLE ${table}) for the store to create it anew on its next call, or name another table; ` +
        'the answers stored in it are lost either way, so a retry of a key it still held runs again',
    );
  }
}

function responseValues(response: StoredResponse): unknown[] {
  const body = Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
  return [response.status, JSON.stringify(response.headers), body, response.omittedBodyBytes ?? null];
}

function toResponse(row: Row): StoredResponse {
  const response = { status: row.status ?? 0, headers: row.headers ?? {}, body: row.body ?? Buffer.alloc(0) };
  return row.omitted === null ? response : { ...response, omittedBodyBytes: row.omitted };
}

/**
 * A time or a duration as the whole ms the table's bigint columns hold: the options take
 * fractions (a lease of 10_000 / 3), which Postgres refuses to read as a bigint. Up, so a
 * lease or a retention is never cut short.
 */
function ms(value: number): number {
  return Math.ceil(value);
}

/** The SQLSTATE of a Postgres error, also when wrapped in a StoreUnavailableError. */
function codeOf(error: unknown): unknown {
  return (error as { code?: unknown }).code === 'store-unavailable' ? (error as { cause?: { code?: unknown } }).cause?.code : (error as { code?: unknown }).code;
}

function isConflict(error: unknown): boolean {
  return CONFLICTS.has(codeOf(error) as string);
}

function ignoreError(): void {
  // The failure reaches the store through the next query (see its uses).
}

function unavailable(error: unknown): never {
  // A refusal of ours (a table of the wrong shape, a `now` that is no number) is not the database failing.
  if (error instanceof StoreUnavailableError || isInvalidOptionsError(error)) throw error;
  throw new StoreUnavailableError(`Postgres failed: ${String((error as { message?: unknown }).message ?? error)}`, { cause: error });
}
