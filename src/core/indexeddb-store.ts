/** The durable key store: IndexedDB through idb-keyval, one connection per page. */
import { createStore, del, entries, get, set, update, type UseStore } from 'idb-keyval';
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
  return {
    async get(fingerprint) {
      const value: unknown = await get(fingerprint, use());
      return isKeyRecord(value) ? value : undefined;
    },
    set: async (record) => set(record.fingerprint, record, use()),
    async upsert(fingerprint, decide) {
      let written: KeyRecord | undefined;
      await update<unknown>(
        fingerprint,
        (current) => (written = { ...decide(isKeyRecord(current) ? current : undefined), fingerprint }),
        use(),
      );
      return written!;
    },
    delete: async (fingerprint) => del(fingerprint, use()),
    async list() {
      const all = await entries<string, unknown>(use());
      return all.map(([, value]) => value).filter(isKeyRecord);
    },
  };
}
