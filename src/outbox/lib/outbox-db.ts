/**
 * The outbox's IndexedDB schema and transactions. A database of its own, not the key
 * store's: that one versions its layout in its name (a new layout is a new, empty
 * database), which would drop keys in flight to add a store here; and the service worker
 * needs only this one.
 */

import { ITEMS_STORE, OUTBOX_VERSION } from './schema.js';

function upgrade(db: IDBDatabase, oldVersion: number): void {
  if (oldVersion < 1) db.createObjectStore(ITEMS_STORE, { keyPath: 'id' });
}

const connections = new Map<string, Promise<IDBDatabase>>();

/**
 * One open per database name for the page or worker (STYLE 3), forgotten when it fails or
 * the browser closes it (storage cleared, another version opened), so the next use reopens.
 */
export function connect(databaseName: string): Promise<IDBDatabase> {
  let connection = connections.get(databaseName);
  if (!connection) {
    const forget = () => connections.delete(databaseName);
    connection = new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(databaseName, OUTBOX_VERSION);
      let blocked = false;
      request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
      // Opened after all, once the caller was told: closed, so it blocks no later upgrade.
      request.onsuccess = () => (blocked ? request.result.close() : resolve(request.result));
      request.onerror = () => reject(request.error);
      // An older version open in another tab that does not let go: say so rather than hang the holder.
      request.onblocked = () => {
        blocked = true;
        reject(new DOMException('the outbox database is blocked by an older version in another tab', 'InvalidStateError'));
      };
    }).then((db) => {
      db.onclose = forget;
      db.onversionchange = () => (db.close(), forget());
      return db;
    });
    connection.catch(forget);
    connections.set(databaseName, connection);
  }
  return connection;
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
  const db = await connect(databaseName);
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
