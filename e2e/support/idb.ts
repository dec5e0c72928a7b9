/**
 * Reads the SDK's key records straight from the page's real IndexedDB, with the raw API
 * and the names the SDK promises (not through the SDK, which would prove nothing).
 */
import type { Page } from '@playwright/test';

export const DATABASE_NAME = 'submit-once-v1';
export const OBJECT_STORE_NAME = 'keys';

export interface StoredRecord {
  v: number;
  key: string;
  fingerprint: string;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  state: string;
  settledAt?: number;
}

/** Every record in `submit-once-v1`/`keys`; rejects if the SDK never created the database. */
export function readKeyRecords(page: Page): Promise<StoredRecord[]> {
  return page.evaluate(
    ([databaseName, storeName]) =>
      new Promise<StoredRecord[]>((resolve, reject) => {
        const open = indexedDB.open(databaseName);
        // An upgrade means the database did not exist: abort, or this read would create an
        // empty one without the object store and break the SDK's own open afterwards.
        open.onupgradeneeded = () => open.transaction?.abort();
        open.onerror = () => reject(new Error(`${databaseName} does not exist (${String(open.error)})`));
        open.onsuccess = () => {
          const db = open.result;
          try {
            const read = db.transaction(storeName, 'readonly').objectStore(storeName).getAll();
            read.onsuccess = () => resolve(read.result as StoredRecord[]);
            read.onerror = () => reject(read.error ?? new Error('getAll failed'));
          } catch (error) {
            reject(error instanceof Error ? error : new Error(String(error)));
          } finally {
            db.close();
          }
        };
      }),
    [DATABASE_NAME, OBJECT_STORE_NAME] as const,
  );
}
