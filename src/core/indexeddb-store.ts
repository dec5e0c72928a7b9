/** The durable key store: IndexedDB, one connection per page, one transaction per operation. */
import { openDatabase } from './open-database.js';
import { isKeyRecord, type Decide, type KeyRecord, type KeyStore } from './store.js';

/**
 * The schema version is part of the database name: a changed layout gets a fresh database
 * instead of an upgrade path. Version 1 inside it, as idb-keyval opened it before.
 */
export const DATABASE_NAME = 'submit-once-v1';
export const OBJECT_STORE_NAME = 'keys';

/**
 * `relaxed`: a transaction is complete once the browser holds it (survives a reload and a
 * crashed renderer, not an OS crash or power cut); `strict`: once it is flushed to disk
 * (survives those too, at a cost on every claim); `default`: whatever the browser does.
 */
export type Durability = 'relaxed' | 'default' | 'strict';

function createSchema(db: IDBDatabase): void {
  db.createObjectStore(OBJECT_STORE_NAME);
}

/**
 * The transaction a turn's operations share. `final` while no request in it will place
 * another (a read's write does): it can then commit before their answers; `committing` once
 * it was asked to, after which no request can be placed.
 */
interface Turn {
  transaction: IDBTransaction;
  final: boolean;
  committing?: boolean;
}

/** An operation's requests in a turn: `[what it resolves with, whether it must run again, reading first]`. */
type Work<T> = (store: IDBObjectStore, turn: Turn, read?: boolean) => [result: () => T, again?: () => boolean];

export interface IndexedDbStoreOptions {
  /** Another database name, to keep apps on one origin apart. */
  databaseName?: string;
  /** Of the write transactions (the claim among them); default `relaxed`, see the README's cost table. */
  durability?: Durability;
}

/**
 * Key records in IndexedDB, so a reload or a crash keeps the key of an unfinished intent.
 * Best effort: private windows may keep it in memory only and Safari may wipe it after
 * days without interaction. Throws from its methods (not here) when IndexedDB is missing,
 * so the submitter's fallback takes over.
 */
export function indexedDbStore(options: IndexedDbStoreOptions = {}): KeyStore {
  const databaseName = options.databaseName ?? DATABASE_NAME;
  const durability = options.durability ?? 'relaxed';

  /**
   * The transaction begun in this turn of the event loop (until the next microtask), which
   * the turn's other operations join: a burst of claims (a page sending several orders at
   * once) commits once, not once each in turn. A transaction stays active for the whole
   * turn it was begun in. Always readwrite: a read joins a claim rather than waiting on it.
   */
  let shared: Turn | undefined;
  /**
   * The keys this store wrote and has not deleted: their claims read first, with no blind
   * add to fail (the same cart ordered again, a retry). A record it did not write (another
   * page's, before a reload) is found by the add failing.
   */
  const written = new Set<string>();

  /**
   * Runs `work` in the turn's transaction; resolves with what it returns once that
   * transaction completed, so a claim is durable before it resolves. `read`: decide over
   * the stored record, no blind add first, and no early commit (so a second abort rejects).
   */
  async function run<T>(work: Work<T>, read?: boolean): Promise<T> {
    if (typeof indexedDB === 'undefined') throw new Error('no IndexedDB here');
    const db = await openDatabase(databaseName, 1, createSchema);
    let turn = shared;
    if (!turn) {
      const begun: Turn = (turn = shared = { transaction: db.transaction(OBJECT_STORE_NAME, 'readwrite', { durability }), final: true });
      queueMicrotask(() => {
        shared = undefined;
        // Left to itself, a transaction commits only once its requests' answers are back in
        // the page; asked now, the commit follows the requests at once: a claim completes
        // about 0.1 ms sooner in Chromium (docs/client-cost.md, session 29).
        if (begun.final && begun.transaction.commit) {
          try {
            begun.transaction.commit();
            begun.committing = true;
          } catch {
            // Inactive already in this browser (InvalidStateError): it commits by itself.
          }
        }
      });
    }
    if (read) turn.final = false;
    const { transaction } = turn;
    const [result, again] = work(transaction.objectStore(OBJECT_STORE_NAME), turn, read);
    const completed = await new Promise<boolean>((resolve, reject) => {
      transaction.addEventListener('complete', () => resolve(true));
      // An add that found a record in a transaction committed early aborts it in Chromium
      // (UnknownError): each of its operations runs again.
      transaction.addEventListener('abort', () => (turn.committing ? resolve(false) : reject(transaction.error)));
    });
    return !completed || again?.() ? run(work, true) : result();
  }

  /**
   * Adds when `decide` would write a record where there is none (a new intent: the usual
   * claim), blind, which costs no read round trip; only if one exists (a retry, a reload,
   * another tab) does the add fail, and the read-then-write follow: in this transaction, or,
   * if it is committing already, in another (`again`). Else reads then writes, the write
   * issued from the read's success callback (as idb-keyval's update does), so two tabs
   * cannot both claim a key.
   */
  const decideIn =
    (fingerprint: string, decide: Decide): Work<KeyRecord | undefined> =>
    (store, turn, read) => {
      let after: KeyRecord | undefined;
      let found = false;
      const readThenWrite = () => {
        turn.final = false;
        const request = store.get(fingerprint);
        request.onsuccess = () => {
          const current = isKeyRecord(request.result) ? request.result : undefined;
          const next = decide(current);
          after = next === undefined ? current : next ? { ...next, fingerprint } : undefined;
          if (next === null) store.delete(fingerprint), written.delete(fingerprint);
          else if (next) store.put(after, fingerprint), written.add(fingerprint);
        };
      };
      const blind = !read && !written.has(fingerprint) && decide(undefined);
      if (blind) {
        written.add(fingerprint);
        after = { ...blind, fingerprint };
        store.add(after, fingerprint).onerror = (event) => {
          // A record is there (ConstraintError): keep the transaction, and decide over the
          // record in it, or, once it is committing, in a run of its own.
          event.preventDefault();
          if (turn.committing) found = true;
          else readThenWrite();
        };
      } else readThenWrite();
      return [() => after, () => found];
    };

  return {
    // Deciding nothing is a read.
    get: (fingerprint) => run(decideIn(fingerprint, () => undefined)),
    upsert: (fingerprint, decide) => run(decideIn(fingerprint, decide)),
    batch: (decisions) =>
      run((store, turn, read) => {
        const parts = [...decisions].map(([fingerprint, decide]) => decideIn(fingerprint, decide)(store, turn, read));
        return [() => undefined, () => parts.some(([, again]) => again!())];
      }),
    list: () =>
      run((store) => {
        const request = store.getAll();
        return [() => (request.result as unknown[]).filter(isKeyRecord)];
      }),
  };
}
