/**
 * Reads the outbox's held requests straight from the page's IndexedDB with the raw API and
 * the names the SDK promises (`submit-once-outbox`/`items`), not through the SDK.
 */
import type { Page } from '@playwright/test';

export interface StoredOutboxItem {
  id: string;
  key: string;
  method: string;
  url: string;
  headers: [string, string][];
  /** The body as text (stored as bytes). */
  body: string | null;
  attempts: number;
  state: string;
  answer?: { status: number };
}

/** Every held request; `[]` when the database does not exist yet. */
export function readOutbox(page: Page): Promise<StoredOutboxItem[]> {
  return page.evaluate(
    () =>
      new Promise<StoredOutboxItem[]>((resolve, reject) => {
        const open = indexedDB.open('submit-once-outbox');
        // The database did not exist: abort, so this read does not create it without its store.
        open.onupgradeneeded = () => open.transaction?.abort();
        open.onerror = () => resolve([]);
        open.onsuccess = () => {
          const db = open.result;
          const read = db.transaction('items', 'readonly').objectStore('items').getAll();
          read.onsuccess = () => {
            db.close();
            resolve(
              (read.result as (Omit<StoredOutboxItem, 'body'> & { body: ArrayBuffer | null })[]).map((item) => ({
                ...item,
                body: item.body === null ? null : new TextDecoder().decode(item.body),
              })),
            );
          };
          read.onerror = () => reject(read.error ?? new Error('getAll failed'));
        };
      }),
  );
}
