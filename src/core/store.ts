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
}

/**
 * Storage of key records by intent fingerprint. Implementations may reject (quota,
 * blocked database); the submitter then degrades to memory and carries on.
 */
export interface KeyStore {
  get(fingerprint: string): Promise<KeyRecord | undefined>;
  set(record: KeyRecord): Promise<void>;
  /**
   * Reads the current record and writes the one `decide` returns, atomically (one
   * IndexedDB transaction): the write-ahead costs one round trip, and two tabs without
   * Web Locks cannot both mint a key for one intent.
   */
  upsert(fingerprint: string, decide: (current: KeyRecord | undefined) => KeyRecord): Promise<KeyRecord>;
  delete(fingerprint: string): Promise<void>;
  /** Every record, for sweeping expired ones. */
  list(): Promise<KeyRecord[]>;
}

/** A store that lives as long as the page: the fallback, and the default where there is no IndexedDB. */
export function memoryStore(): KeyStore {
  const records = new Map<string, KeyRecord>();
  return {
    get: async (fingerprint) => copy(records.get(fingerprint)),
    set: async (record) => {
      records.set(record.fingerprint, { ...record });
    },
    upsert: async (fingerprint, decide) => {
      const next = { ...decide(copy(records.get(fingerprint))), fingerprint };
      records.set(fingerprint, next);
      return { ...next };
    },
    delete: async (fingerprint) => {
      records.delete(fingerprint);
    },
    list: async () => [...records.values()].map((record) => ({ ...record })),
  };
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
