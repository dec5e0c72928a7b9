import { checkNumber, MAX_TIMER_MS } from '../invalid-options-error.js';
import { RecordTable, sweepAt } from './table.js';
import type { ClaimRequest, ClaimResult, CompleteRequest, IdempotencyStore, RenewRequest, SettleRequest, SyncStoreOperations } from './types.js';

export interface MemoryStoreOptions {
  /** How often expired records are dropped in the background; 0 turns it off. Default 60 s. */
  readonly sweepIntervalMs?: number;
  /** Clock for the background sweep. */
  readonly now?: () => number;
}

/**
 * Keys in this process's memory: the default, for tests, demos and a single instance.
 * Lost on restart; use `fileStore` or `redisStore` when that matters.
 *
 * @example idempotency({ store: memoryStore() })
 */
export function memoryStore(options: MemoryStoreOptions = {}): IdempotencyStore {
  const table = new RecordTable();
  const now = options.now ?? Date.now;
  const sweepIntervalMs = checkNumber('sweepIntervalMs', options.sweepIntervalMs ?? 60_000, 0, true, MAX_TIMER_MS);
  const timer = sweepIntervalMs > 0 ? setInterval(() => sweepAt(table, now()), sweepIntervalMs) : undefined;
  // The sweep must never keep a process alive on its own.
  timer?.unref();

  // The table answers at once: the promises below are only for the store contract.
  const sync: SyncStoreOperations = {
    claim: (request: ClaimRequest): ClaimResult => table.claim(request).result,
    complete: (request: CompleteRequest): boolean => table.complete(request) !== undefined,
  };
  const store: IdempotencyStore = {
    name: 'memory',
    claim: async (request: ClaimRequest): Promise<ClaimResult> => sync.claim(request),
    complete: async (request: CompleteRequest) => sync.complete(request),
    release: async (request: SettleRequest) => table.release(request) !== undefined,
    markUnknown: async (request: SettleRequest) => table.markUnknown(request) !== undefined,
    renew: async (request: RenewRequest) => table.renew(request) !== undefined,
    sweep: async (at: number) => table.sweep(at),
    clear: async () => table.clear(),
    close: async () => {
      if (timer !== undefined) clearInterval(timer);
    },
  };
  // Not enumerable, so a wrapper made by spreading the store (`{ ...store, claim }`, to
  // log or inject faults) does not inherit it: its own `claim` and `complete` are called.
  Object.defineProperty(store, 'sync', { value: sync });
  return store;
}
