/** The durable key store: IndexedDB through idb-keyval, one connection per page. */
import { createStore, promisifyRequest, type UseStore } from 'idb-keyval';
import { isKeyRecord, type KeyRecord, type KeyStore } from './store.js';

/**
 * The schema version is part of the database name: idb-keyval opens without a version
 * number, so a changed layout gets a fresh database instead of an upgrade path.
 */
export const DATABASE_NAME = 'submit-once-v1';
export const OBJECT_STORE_NAME = 'keys';

const openStores = new Map<string, UseStore>();

/**
 * idb-keyval's `createStore` memoises its open promise and resets it when the browser
 * closes the connection; keeping one per name here means one connection per page however
 * many submitters are made.
 */
function sharedStore(databaseName: string): UseStore {
  let store = openStores.get(databaseName);
  if (!store) {
    store = createStore(databaseName, OBJECT_STORE_NAME);
    openStores.set(databaseName, store);
  }
  return store;
}

export interface IndexedDbStoreOptions {
  /** Another database name, to keep apps on one origin apart. */
  databaseName?: string;
}

/**
 * Key records in IndexedDB, so a reload or a crash keeps the key of an unfinished intent.
 * Best effort: private windows may keep it in memory only and Safari may wipe it after
 * days without interaction. Throws from its methods (not here) when IndexedDB is missing,
 * so the submitter's fallback takes over.
 */
export function indexedDbStore(options: IndexedDbStoreOptions = {}): KeyStore {
  const databaseName = options.databaseName ?? DATABASE_NAME;
  let store: UseStore | undefined;
  const use = (): UseStore => {
    if (typeof indexedDB === 'undefined') throw new Error('IndexedDB is not available here');
    store ??= sharedStore(databaseName);
    return store;
  };
  // idb-keyval's own get/set/update take a default store argument, which bundles its
  // default database on every page: the operations are written against our store instead.
  const run = <T>(mode: IDBTransactionMode, work: (store: IDBObjectStore) => T | PromiseLike<T>): Promise<T> => use()(mode, work);
  const written = (store: IDBObjectStore): Promise<void> => promisifyRequest(store.transaction);
  return {
    async get(fingerprint) {
      const value: unknown = await run('readonly', (store) => promisifyRequest(store.get(fingerprint)));
      return isKeyRecord(value) ? value : undefined;
    },
    set: (record) =>
      run('readwrite', (store) => {
        store.put(record, record.fingerprint);
        return written(store);
      }),
    upsert: (fingerprint, decide) =>
      // Read and write in one transaction, the write issued from the read's success
      // callback (as idb-keyval's update does), so two tabs cannot both mint a key.
      run(
        'readwrite',
        (store) =>
          new Promise<KeyRecord>((resolve, reject) => {
            const request = store.get(fingerprint);
            request.onsuccess = () => {
              try {
                const current: unknown = request.result;
                const next = { ...decide(isKeyRecord(current) ? current : undefined), fingerprint };
                store.put(next, fingerprint);
                resolve(written(store).then(() => next));
              } catch (error) {
                reject(error);
              }
            };
            request.onerror = () => reject(request.error);
          }),
      ),
    delete: (fingerprint) =>
      run('readwrite', (store) => {
        store.delete(fingerprint);
        return written(store);
      }),
    async list() {
      // One getAll (IndexedDB 2, every browser since 2017); idb-keyval's values() also
      // carries a cursor fallback for older engines.
      const all: unknown[] = await run('readonly', (store) => promisifyRequest(store.getAll()));
      return all.filter(isKeyRecord);
    },
  };
}
