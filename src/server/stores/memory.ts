import { RecordTable } from './table.js';
import type { ClaimRequest, ClaimResult, CompleteRequest, IdempotencyStore, RenewRequest, SettleRequest } from './types.js';

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
  const sweepIntervalMs = options.sweepIntervalMs ?? 60_000;
  const timer = sweepIntervalMs > 0 ? setInterval(() => table.sweep(now()), sweepIntervalMs) : undefined;
  // The sweep must never keep a process alive on its own.
  timer?.unref();

  return {
    name: 'memory',
    claim: async (request: ClaimRequest): Promise<ClaimResult> => table.claim(request).result,
    complete: async (request: CompleteRequest) => table.complete(request) !== undefined,
    release: async (request: SettleRequest) => table.release(request) !== undefined,
    markUnknown: async (request: SettleRequest) => table.markUnknown(request) !== undefined,
    renew: async (request: RenewRequest) => table.renew(request) !== undefined,
    sweep: async (at: number) => table.sweep(at),
    clear: async () => table.clear(),
    close: async () => {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}
