/** The outbox's queue semantics over its database: bounded add, read, change, remove. */
import { OutboxFullError } from '../errors.js';
import { transact } from './outbox-db.js';
import { bytesOf, isOutboxItem, type OutboxItem } from './outbox-item.js';

export interface Limits {
  maxItems: number;
  maxBytes: number;
}

export interface OutboxStore {
  /**
   * Adds the item unless one with its id (its key) is there: resolves with that one then
   * (it stands), else with undefined. Rejects with `OutboxFullError` (nothing added) past a
   * bound or the quota.
   */
  add(item: OutboxItem, limits: Limits): Promise<OutboxItem | undefined>;
  /** Oldest first, in the order held. */
  all(): Promise<OutboxItem[]>;
  /**
   * Writes what `change` returns (`null` deletes, `undefined` leaves it), given the stored
   * item or, with none, `undefined`; resolves with the item as it was (none: undefined).
   */
  update(id: string, change: (item: OutboxItem | undefined) => OutboxItem | null | undefined): Promise<OutboxItem | undefined>;
}

export function outboxStore(databaseName: string): OutboxStore {
  return {
    add: (item, limits) =>
      transact(
        databaseName,
        'readwrite',
        (store, fail) => {
          let held: OutboxItem | undefined;
          // Read then add in one transaction: two tabs cannot both pass the bound.
          const read = store.getAll();
          read.onsuccess = () => {
            const items = (read.result as unknown[]).filter(isOutboxItem);
            held = items.find((other) => other.id === item.id);
            if (held) return;
            if (items.length >= limits.maxItems) return fail(new OutboxFullError('items'));
            if (items.reduce((sum, other) => sum + bytesOf(other), bytesOf(item)) > limits.maxBytes) return fail(new OutboxFullError('bytes'));
            // After every item held: createdAt ties within a millisecond, and ids are random.
            const seq = Math.max(0, ...items.map((other) => other.seq ?? 0)) + 1;
            store.add({ ...item, seq });
          };
          return () => held;
        },
        // The only copy of the user's intent once the page is gone: flushed to disk.
        { durability: 'strict' },
      ).catch((error: unknown) => {
        throw error instanceof DOMException && error.name === 'QuotaExceededError' ? new OutboxFullError('quota', { cause: error }) : error;
      }),
    all: () =>
      transact(databaseName, 'readonly', (store) => {
        const read = store.getAll();
        return () => (read.result as unknown[]).filter(isOutboxItem).sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0) || a.createdAt - b.createdAt);
      }),
    update: (id, change) =>
      transact(databaseName, 'readwrite', (store) => {
        let before: OutboxItem | undefined;
        const read = store.get(id);
        read.onsuccess = () => {
          if (isOutboxItem(read.result)) before = read.result;
          const next = change(before);
          if (next === null) store.delete(id);
          else if (next) store.put(next);
        };
        return () => before;
      }),
  };
}
