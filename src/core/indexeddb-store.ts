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
  let shared: IDBTransaction | undefined;

  /**
   * Runs `work` in the turn's transaction; resolves with what it returns once that
   * transaction completed, so a claim is durable before it resolves.
   */
  async function run<T>(work: (store: IDBObjectStore) => () => T): Promise<T> {
    if (typeof indexedDB === 'undefined') throw new Error('no IndexedDB here');
    const db = await openDatabase(databaseName, 1, createSchema);
    if (!shared) {
      shared = db.transaction(OBJECT_STORE_NAME, 'readwrite', { durability });
      queueMicrotask(() => (shared = undefined));
    }
    const transaction = shared;
    const result = work(transaction.objectStore(OBJECT_STORE_NAME));
    return await new Promise<T>((resolve, reject) => {
      transaction.addEventListener('complete', () => resolve(result()));
      transaction.addEventListener('abort', () => reject(transaction.error));
    });
  }

  /**
   * Reads then writes in the transaction, the write issued from the read's success callback
   * (as idb-keyval's update does), so two tabs cannot both claim a key. When `decide` would
   * write a record where there is none (a new intent: the usual claim), that record is
   * `add`ed blind first, which costs no read round trip; only if one exists (a retry, a
   * reload, another tab) does the add fail, and the read-then-write follow.
   */
  const decideIn = (store: IDBObjectStore, fingerprint: string, decide: Decide): (() => KeyRecord | undefined) => {
    let after: KeyRecord | undefined;
    const readThenWrite = () => {
      const read = store.get(fingerprint);
      read.onsuccess = () => {
        const current = isKeyRecord(read.result) ? read.result : undefined;
        const next = decide(current);
        after = next === undefined ? current : next ? { ...next, fingerprint } : undefined;
        if (next === null) store.delete(fingerprint);
        else if (next) store.put(after, fingerprint);
      };
    };
    const blind = decide(undefined);
    if (blind) {
      after = { ...blind, fingerprint };
      const add = store.add(after, fingerprint);
      add.onerror = (event) => {
        // A record is there (ConstraintError): keep the transaction, decide over it.
        event.preventDefault();
        readThenWrite();
      };
    } else readThenWrite();
    return () => after;
  };

  return {
    // Deciding nothing is a read.
    get: (fingerprint) => run((store) => decideIn(store, fingerprint, () => undefined)),
    upsert: (fingerprint, decide) => run((store) => decideIn(store, fingerprint, decide)),
    batch: (decisions) =>
      run((store) => {
        decisions.forEach((decide, fingerprint) => decideIn(store, fingerprint, decide));
        return () => undefined;
      }),
    list: () =>
      run((store) => {
        const request = store.getAll();
        return () => (request.result as unknown[]).filter(isKeyRecord);
      }),
  };
}
