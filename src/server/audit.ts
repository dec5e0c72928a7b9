import type { IdempotencyEvent } from './events.js';

/** Per storage key: how often its handler ran and how often it was answered otherwise. */
export interface KeyAudit {
  readonly key: string;
  readonly principal?: string;
  readonly method: string;
  readonly route: string;
  executions: number;
  replays: number;
  /** Answered 409: the same key was still in flight. */
  conflicts: number;
  /** Answered 422: the same key came with another payload. */
  mismatches: number;
  /** Claims freed because the handler threw or answered 5xx. */
  releases: number;
  lastStatus?: number;
}

export interface AuditTotals {
  requests: number;
  executions: number;
  replays: number;
  conflicts: number;
  mismatches: number;
  releases: number;
  /** 400 and 413 answers (missing or malformed key, body too large). */
  rejected: number;
  storeErrors: number;
  /**
   * Executions of a key whose earlier run was not released (it completed, or its lease ran
   * out while it was still running): non-zero means some intent may have taken effect twice.
   */
  duplicateExecutions: number;
}

export interface AuditSnapshot {
  readonly totals: AuditTotals;
  readonly keys: readonly KeyAudit[];
}

const emptyTotals = (): AuditTotals => ({
  requests: 0,
  executions: 0,
  replays: 0,
  conflicts: 0,
  mismatches: 0,
  releases: 0,
  rejected: 0,
  storeErrors: 0,
  duplicateExecutions: 0,
});

/**
 * Counters of one middleware instance (one process): proof, for tests and the demo, that
 * each key's handler ran once. Per-key records are capped, oldest dropped first, so a
 * flood of distinct keys cannot grow memory without bound.
 */
export class Audit {
  #totals = emptyTotals();
  readonly #keys = new Map<string, KeyAudit>();

  constructor(private readonly maxKeys: number) {}

  record(storageKey: string | undefined, event: IdempotencyEvent): void {
    const totals = this.#totals;
    switch (event.type) {
      case 'rejected':
        totals.rejected++;
        return;
      case 'store-error':
        totals.storeErrors++;
        return;
      default:
        break;
    }
    if (storageKey === undefined || event.key === undefined) return;
    const entry = this.#entry(storageKey, event);
    switch (event.type) {
      case 'executed':
        totals.executions++;
        // A run that was released (threw, 5xx) had no effect to duplicate; any other earlier run did.
        if (entry.executions - entry.releases > 0) totals.duplicateExecutions++;
        entry.executions++;
        break;
      case 'replayed':
        totals.replays++;
        entry.replays++;
        entry.lastStatus = event.status;
        break;
      case 'conflict':
        totals.conflicts++;
        entry.conflicts++;
        break;
      case 'mismatch':
        totals.mismatches++;
        entry.mismatches++;
        break;
      case 'released':
        totals.releases++;
        entry.releases++;
        break;
      case 'completed':
        entry.lastStatus = event.status;
        break;
      default:
        break;
    }
  }

  countRequest(): void {
    this.#totals.requests++;
  }

  snapshot(): AuditSnapshot {
    return { totals: { ...this.#totals }, keys: [...this.#keys.values()].map((entry) => ({ ...entry })) };
  }

  reset(): void {
    this.#totals = emptyTotals();
    this.#keys.clear();
  }

  #entry(storageKey: string, event: IdempotencyEvent & { key?: string }): KeyAudit {
    let entry = this.#keys.get(storageKey);
    if (entry === undefined) {
      entry = { key: event.key ?? '', method: event.method, route: event.route, executions: 0, replays: 0, conflicts: 0, mismatches: 0, releases: 0 };
      if (event.principal !== undefined) entry = { ...entry, principal: event.principal };
      if (this.#keys.size >= this.maxKeys) {
        const oldest = this.#keys.keys().next();
        if (oldest.done !== true) this.#keys.delete(oldest.value);
      }
      this.#keys.set(storageKey, entry);
    }
    return entry;
  }
}
