/** Where an intent's key lives between attempts, reloads and crashes. */

export type KeyState =
  /** Written ahead of the first send; the request may be on the wire. */
  | 'pending'
  /** Attempts ended without a final answer: the next try must reuse the key. */
  | 'ambiguous'
  /** A final answer came; kept only for the settle window, then retired. */
  | 'settled';

export interface KeyRecord {
  /** Record schema version, so a later SDK can recognise (and drop) old shapes. */
  v: 1;
  key: string;
  fingerprint: string;
  createdAt: number;
  expiresAt: number;
  attempts: number;
  state: KeyState;
  settledAt?: number;
  /**
   * The engine (`<tab id>.<n>`) whose attempt is in flight, on a `pending` record: another
   * tab waits for its outcome instead of sending. Absent where tabs cannot coordinate.
   */
  owner?: string;
}

/** What to do with a stored record: write the one returned, `null` deletes, `undefined` leaves it. */
export type Decide = (current: KeyRecord | undefined) => KeyRecord | null | undefined;

/**
 * Storage of key records by intent fingerprint. Implementations may reject (quota,
 * blocked database); the submitter then degrades to memory and carries on.
 */
export interface KeyStore {
  get(fingerprint: string): Promise<KeyRecord | undefined>;
  /**
   * Reads the current record and writes (or deletes) as `decide` says, atomically (one
   * IndexedDB transaction): the write-ahead claim costs one commit, and two tabs cannot
   * both claim one intent. Resolves with the record stored after it. `decide` may be
   * called more than once (first with `undefined`, for a blind write where no record is):
   * keep it pure; the last call is the one that counts.
   */
  upsert(fingerprint: string, decide: Decide): Promise<KeyRecord | undefined>;
  /**
   * Several `upsert`s in one transaction: the deferred settle writes of a burst (and a
   * sweep) cost one commit, not one each queued ahead of the next claim.
   */
  batch(decisions: ReadonlyMap<string, Decide>): Promise<void>;
  /** Every record, for sweeping expired ones. */
  list(): Promise<KeyRecord[]>;
}

/** A store that lives as long as the page: the fallback, and the default where there is no IndexedDB. */
export const memoryStore = (): KeyStore => mapStore(new Map());

/** A store over `records`, which its owner may also write (the fallback's mirror of the primary). */
export function mapStore(records: Map<string, KeyRecord>): KeyStore {
  return {
    get: async (fingerprint) => copy(records.get(fingerprint)),
    upsert: async (fingerprint, decide) => copy(apply(records, fingerprint, decide)),
    batch: async (decisions) => decisions.forEach((decide, fingerprint) => apply(records, fingerprint, decide)),
    list: async () => [...records.values()].map((record) => ({ ...record })),
  };
}

function apply(records: Map<string, KeyRecord>, fingerprint: string, decide: Decide): KeyRecord | undefined {
  const next = decide(copy(records.get(fingerprint)));
  if (next === null) records.delete(fingerprint);
  else if (next) records.set(fingerprint, { ...next, fingerprint });
  return records.get(fingerprint);
}

function copy(record: KeyRecord | undefined): KeyRecord | undefined {
  return record && { ...record };
}

/** True when a value read from storage has the shape this version writes. */
export function isKeyRecord(value: unknown): value is KeyRecord {
  if (typeof value !== 'object' || value === null) return false;
  const record = value as Partial<KeyRecord>;
  return (
    record.v === 1 &&
    typeof record.key === 'string' &&
    typeof record.fingerprint === 'string' &&
    typeof record.createdAt === 'number' &&
    typeof record.expiresAt === 'number' &&
    typeof record.attempts === 'number' &&
    (record.state === 'pending' || record.state === 'ambiguous' || record.state === 'settled')
  );
}
