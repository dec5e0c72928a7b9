import { newClaimToken } from './token.js';
import type { ClaimRequest, ClaimResult, CompleteRequest, RenewRequest, StoredResponse } from './types.js';

export type TableRecord =
  | {
      readonly state: 'in-progress';
      readonly fingerprint: string;
      readonly token: string;
      readonly leaseExpiresAt: number;
    }
  | {
      readonly state: 'completed';
      readonly fingerprint: string;
      readonly response: StoredResponse;
      readonly expiresAt: number;
    };

/**
 * The record state machine shared by the in-process stores (memory, file). Every method
 * is synchronous, which is what makes `claim` atomic inside one Node process: no other
 * request can run between the check and the write.
 */
export class RecordTable {
  readonly #records = new Map<string, TableRecord>();

  get size(): number {
    return this.#records.size;
  }

  entries(): IterableIterator<[string, TableRecord]> {
    return this.#records.entries();
  }

  /** Applies a record as-is (loading a log); `undefined` deletes. */
  put(key: string, record: TableRecord | undefined): void {
    if (record === undefined) this.#records.delete(key);
    else this.#records.set(key, record);
  }

  claim(request: ClaimRequest, token: string = newClaimToken()): ClaimResult {
    const current = this.#live(request.key, request.now);
    if (current?.state === 'completed') {
      return { status: 'completed', fingerprint: current.fingerprint, response: current.response };
    }
    if (current?.state === 'in-progress') {
      return { status: 'in-progress', fingerprint: current.fingerprint, leaseExpiresAt: current.leaseExpiresAt };
    }
    this.#records.set(request.key, {
      state: 'in-progress',
      fingerprint: request.fingerprint,
      token,
      leaseExpiresAt: request.now + request.leaseMs,
    });
    return { status: 'claimed', token };
  }

  /** Returns the stored record, or undefined when the token no longer holds the claim. */
  complete(request: CompleteRequest): TableRecord | undefined {
    if (!this.#holds(request.key, request.token)) return undefined;
    const record: TableRecord = {
      state: 'completed',
      fingerprint: request.fingerprint,
      response: request.response,
      expiresAt: request.now + request.retentionMs,
    };
    this.#records.set(request.key, record);
    return record;
  }

  release(key: string, token: string): boolean {
    if (!this.#holds(key, token)) return false;
    this.#records.delete(key);
    return true;
  }

  renew(request: RenewRequest): TableRecord | undefined {
    const current = this.#records.get(request.key);
    if (current?.state !== 'in-progress' || current.token !== request.token) return undefined;
    // A lease that already ran out may have been claimed by someone else; here it was not, so extending is safe.
    const record: TableRecord = { ...current, leaseExpiresAt: request.now + request.leaseMs };
    this.#records.set(request.key, record);
    return record;
  }

  sweep(now: number): number {
    let dropped = 0;
    for (const [key, record] of this.#records) {
      if (isExpired(record, now)) {
        this.#records.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  clear(): void {
    this.#records.clear();
  }

  #live(key: string, now: number): TableRecord | undefined {
    const record = this.#records.get(key);
    if (record === undefined || !isExpired(record, now)) return record;
    this.#records.delete(key);
    return undefined;
  }

  #holds(key: string, token: string): boolean {
    const current = this.#records.get(key);
    return current?.state === 'in-progress' && current.token === token;
  }
}

export function isExpired(record: TableRecord, now: number): boolean {
  return record.state === 'completed' ? record.expiresAt <= now : record.leaseExpiresAt <= now;
}
