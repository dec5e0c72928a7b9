/**
 * The outbox's IndexedDB schema and transactions. A database of its own, not the key
 * store's: that one versions its layout in its name (a new layout is a new, empty
 * database), which would drop keys in flight to add a store here; and the service worker
 * needs only this one.
 */

import { openDatabase } from '../../core/open-database.js';
import { ITEMS_STORE, OUTBOX_VERSION } from './schema.js';

function upgrade(db: IDBDatabase, oldVersion: number): void {
  if (oldVersion < 1) db.createObjectStore(ITEMS_STORE, { keyPath: 'id' });
}

export interface TransactionOptions {
  durability?: 'relaxed' | 'default' | 'strict';
}

/**
 * Runs `work` in one transaction on the items store; resolves with what its returned
 * getter says once the transaction completed, rejects with the error that aborted it
 * (`work` may abort it on purpose, with `fail`).
 */
export async function transact<T>(
  databaseName: string,
  mode: IDBTransactionMode,
  work: (store: IDBObjectStore, fail: (error: unknown) => void) => () => T,
  options: TransactionOptions = {},
): Promise<T> {
  const db = await openDatabase(databaseName, OUTBOX_VERSION, upgrade);
  const transaction = db.transaction(ITEMS_STORE, mode, { durability: options.durability ?? 'default' });
  let failure: { error: unknown } | undefined;
  const fail = (error: unknown) => {
    failure = { error };
    transaction.abort();
  };
  const result = work(transaction.objectStore(ITEMS_STORE), fail);
  return new Promise<T>((resolve, reject) => {
    transaction.oncomplete = () => resolve(result());
    transaction.onabort = () => reject(failure ? failure.error : transaction.error);
  });
}
