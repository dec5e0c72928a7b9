import { CompletedRecords, type CompletedRecordsOptions } from './completed-records.js';
import { claimToken } from './token.js';
import { finiteNow } from './finite-now.js';
import type { ClaimRequest, ClaimResult, CompleteRequest, Rerun, RenewRequest, SettleRequest, StoredResponse } from './types.js';

/** Every record keeps the key's execution count: it survives completion, release and unknown. */
export type TableRecord =
  | {
      readonly state: 'in-progress';
      readonly fingerprint: string;
      readonly token: string;
      readonly executions: number;
      readonly leaseExpiresAt: number;
      /** Retention once the lease runs out: the record then stands for an unknown outcome. */
      readonly retentionMs: number;
      /** The key's hash in the completed records, from the claim's lookup: the completion's insert hashes the key no more. */
      readonly keyHash?: number;
    }
  | {
      readonly state: 'completed';
      readonly fingerprint: string;
      readonly executions: number;
      readonly response: StoredResponse;
      readonly expiresAt: number;
    }
  | {
      readonly state: 'unknown';
      readonly fingerprint: string;
      /** The last holder's token: its late completion is still accepted (nobody took over). */
      readonly token: string;
      readonly executions: number;
      readonly expiresAt: number;
    }
  | {
      readonly state: 'released';
      readonly fingerprint: string;
      readonly executions: number;
      readonly expiresAt: number;
    };

/**
 * The record state machine shared by the in-process stores (memory, file). Every method
 * is synchronous, which is what makes `claim` atomic inside one Node process: no other
 * request can run between the check and the write.
 *
 * A completed record lives in `CompletedRecords`, off the V8 heap, for its whole
 * retention; every other record (running claims, few and short-lived; released and
 * unknown ones; a completed one that cannot be packed) is an object in a `Map`. A key is
 * in one of the two at most.
 */
export class RecordTable {
  readonly #records = new Map<string, TableRecord>();
  readonly #completed: CompletedRecords;

  constructor(options: CompletedRecordsOptions = {}) {
    this.#completed = new CompletedRecords(options);
  }

  get size(): number {
    return this.#records.size + this.#completed.size;
  }

  /** Every record; the table must not change while this runs. */
  *entries(): IterableIterator<[string, TableRecord]> {
    yield* this.#records;
    for (const [key, fields] of this.#completed.entries()) yield [key, { state: 'completed', ...fields }];
  }

  get(key: string): TableRecord | undefined {
    const record = this.#records.get(key);
    if (record !== undefined) return record;
    const fields = this.#completed.get(key);
    return fields === undefined ? undefined : { state: 'completed', ...fields };
  }

  /** Applies a record as-is (loading a log); `undefined` deletes. */
  put(key: string, record: TableRecord | undefined): void {
    this.#records.delete(key);
    this.#completed.delete(key);
    if (record !== undefined) this.#set(key, record);
  }

  /** Returns the result, and the new record when the claim wrote one. */
  claim(request: ClaimRequest, suffix?: string): { result: ClaimResult; record?: TableRecord } {
    const keyHash = this.#completed.hashOf(request.key);
    const current = this.#live(request.key, finiteNow(request.now), keyHash);
    if (current?.state === 'completed') {
      return { result: { status: 'completed', fingerprint: current.fingerprint, response: current.response, executions: current.executions } };
    }
    if (current?.state === 'in-progress' && current.leaseExpiresAt > request.now) {
      return { result: { status: 'in-progress', fingerprint: current.fingerprint, leaseExpiresAt: current.leaseExpiresAt } };
    }
    let rerun: Rerun = 'none';
    if (current?.state === 'in-progress' || current?.state === 'unknown') {
      // The outcome of the last run is unknown: never free by time alone.
      if (!request.recover || current.fingerprint !== request.fingerprint) {
        return { result: { status: 'unknown', fingerprint: current.fingerprint, executions: current.executions } };
      }
      rerun = 'recovery';
    } else if (current?.state === 'released') {
      rerun = 'after-release';
    }
    const executions = (current?.executions ?? 0) + 1;
    const token = claimToken(executions, suffix);
    const record: TableRecord = {
      state: 'in-progress',
      fingerprint: request.fingerprint,
      token,
      executions,
      leaseExpiresAt: request.now + request.leaseMs,
      retentionMs: request.retentionMs,
      keyHash,
    };
    this.#records.set(request.key, record);
    return { result: { status: 'claimed', token, executions, rerun }, record };
  }

  /** Returns the stored record, or undefined when the token no longer holds the key. */
  complete(request: CompleteRequest): TableRecord | undefined {
    finiteNow(request.now);
    const current = this.#holder(request.key, request.token, true);
    if (current === undefined) return undefined;
    const record: TableRecord = {
      state: 'completed',
      fingerprint: request.fingerprint,
      executions: current.executions,
      response: request.response,
      expiresAt: request.now + request.retentionMs,
    };
    this.#set(request.key, record, current.state === 'in-progress' ? current.keyHash : undefined);
    return record;
  }

  release(request: SettleRequest): TableRecord | undefined {
    finiteNow(request.now);
    const current = this.#holder(request.key, request.token, false);
    if (current === undefined) return undefined;
    const record: TableRecord = {
      state: 'released',
      fingerprint: current.fingerprint,
      executions: current.executions,
      expiresAt: request.now + request.retentionMs,
    };
    this.#records.set(request.key, record);
    return record;
  }

  markUnknown(request: SettleRequest): TableRecord | undefined {
    finiteNow(request.now);
    const current = this.#holder(request.key, request.token, false);
    if (current === undefined) return undefined;
    const record: TableRecord = {
      state: 'unknown',
      fingerprint: current.fingerprint,
      token: current.token,
      executions: current.executions,
      expiresAt: request.now + request.retentionMs,
    };
    this.#records.set(request.key, record);
    return record;
  }

  renew(request: RenewRequest): TableRecord | undefined {
    finiteNow(request.now);
    const current = this.#holder(request.key, request.token, false);
    if (current?.state !== 'in-progress') return undefined;
    // A lease that already ran out was not taken over (the token still matches), so the
    // holder, alive after all, may extend it.
    const record: TableRecord = { ...current, leaseExpiresAt: request.now + request.leaseMs };
    this.#records.set(request.key, record);
    return record;
  }

  sweep(now: number): number {
    // NaN dropped every completed record (no expiry is `> NaN`): each retry then ran again.
    finiteNow(now);
    let dropped = 0;
    for (const [key, record] of this.#records) {
      if (isExpired(record, now)) {
        this.#records.delete(key);
        dropped++;
      }
    }
    return dropped + this.#completed.sweep(now);
  }

  clear(): void {
    this.#records.clear();
    this.#completed.clear();
  }

  /** A completed record off the heap when it can be packed, else an object in the Map. */
  #set(key: string, record: TableRecord, keyHash?: number): void {
    if (record.state === 'completed' && this.#completed.set(key, record, keyHash)) this.#records.delete(key);
    else this.#records.set(key, record);
  }

  /** The key's record unless it is past retention at `now` (it is then dropped). */
  #live(key: string, now: number, keyHash: number): TableRecord | undefined {
    const record = this.#records.get(key);
    if (record !== undefined) {
      if (!isExpired(record, now)) return record;
      this.#records.delete(key);
      return undefined;
    }
    const slot = this.#completed.find(key, keyHash);
    if (slot < 0) return undefined;
    if (this.#completed.expiresAt(slot) > now) return { state: 'completed', ...this.#completed.read(slot) };
    this.#completed.deleteSlot(slot);
    return undefined;
  }

  /** The record if `token` holds it: running, or (for a completion only) marked unknown since. */
  #holder(key: string, token: string, unknownToo: boolean): (TableRecord & { state: 'in-progress' | 'unknown' }) | undefined {
    // Only the Map holds running and unknown records.
    const current = this.#records.get(key);
    if (current === undefined) return undefined;
    if (current.state === 'in-progress' && current.token === token) return current;
    if (unknownToo && current.state === 'unknown' && current.token === token) return current;
    return undefined;
  }
}

/** Past retention: a running claim only once its lease and then its retention have passed. */
export function isExpired(record: TableRecord, now: number): boolean {
  return record.state === 'in-progress' ? record.leaseExpiresAt + record.retentionMs <= now : record.expiresAt <= now;
}

/** A sweep timer's: a clock that answers no finite number drops nothing, rather than throw from the timer and end the process. */
export function sweepAt(table: RecordTable, now: number): number {
  return Number.isFinite(now) ? table.sweep(now) : 0;
}
