import type { Deadlines } from './deadlines.js';
import type { PgClientLike, PgPoolLike, PgPooledClient, PgResult } from './postgres.js';
import { StoreUnavailableError } from './types.js';

/**
 * The connection of one claim transaction. Each statement on it is bounded, and the
 * first that fails or runs out of time destroys the connection (`release(error)`) instead
 * of giving it back: the server rolls back the transaction of a connection that closes
 * (or, if the close never reaches it, once the transaction's idle timeout ends it), and
 * nothing of ours follows a statement we gave up on, so a claim or a write that lands
 * late can never be committed, nor the open transaction serve another request.
 */
export class TransactionConnection implements PgClientLike {
  #done = false;

  private constructor(
    readonly client: PgPooledClient,
    private readonly deadlines: Deadlines,
  ) {
    // A connection that drops while it is checked out (a restart, a failover, the idle
    // timeout) is an 'error' event that pg leaves to its holder: unheard, an uncaught
    // exception that ends the process. Its next query fails instead, as it should.
    client.on?.('error', ignoreError);
  }

  /** Checks a connection out of `pool`, failing after the deadline; one that comes later goes back unused. */
  static async open(pool: PgPoolLike, deadlines: Deadlines): Promise<TransactionConnection> {
    const connecting = pool.connect();
    const client = await deadlines.watch(connecting).catch((error: unknown) => {
      connecting.then((late) => late.release(), () => undefined);
      throw error;
    });
    return new TransactionConnection(client, deadlines);
  }

  /** A statement bounded by the store's operation timeout. */
  query<Row = Record<string, unknown>>(text: string, values?: unknown[]): Promise<PgResult<Row>> {
    return this.#bounded(() => this.deadlines.watch(this.client.query<Row>(text, values)));
  }

  /**
   * The statements of a claim, which wait on a concurrent claim's row lock for up to
   * `lockMs` (the transaction's `lock_timeout`), when the server answers 55P03: unanswered
   * `timeoutMs` after that, the database has stopped answering.
   */
  waitingOnLocks(lockMs: number, timeoutMs: number): PgClientLike {
    const ms = lockMs + timeoutMs;
    return {
      query: <Row>(text: string, values?: unknown[]) => this.#bounded(() => withTimeout(this.client.query<Row>(text, values), ms)),
    };
  }

  /** Back to the pool, healthy (its transaction ended): without the listener, or each checkout would add one. */
  giveBack(): void {
    if (this.#done) return;
    this.#done = true;
    this.client.removeListener?.('error', ignoreError);
    this.client.release();
  }

  /** Closed and out of the pool; the server rolls its transaction back. */
  destroy(error?: Error): void {
    if (this.#done) return;
    this.#done = true;
    this.client.release(error ?? true);
  }

  #bounded<R>(statement: () => Promise<R>): Promise<R> {
    if (this.#done) return Promise.reject(new StoreUnavailableError('the claim transaction was abandoned: its connection is closed'));
    return statement().catch((error: unknown) => {
      this.destroy(error instanceof Error ? error : undefined);
      throw error;
    });
  }
}

function withTimeout<R>(pending: Promise<R>, ms: number): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`Postgres did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([pending, late]).finally(() => clearTimeout(timer));
}

function ignoreError(): void {
  // The failure reaches the store through the next query.
}
