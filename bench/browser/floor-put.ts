/**
 * The floor's write-ahead, as issue 10 defines it: one raw IndexedDB readwrite put of a new
 * key, resolved with the key once it has committed; the caller then sends it as its header.
 * One connection per database, opened on first use, as the SDK keeps one per page.
 * `commitEarly`: `commit()` right after the put (the floor as the SDK now writes it).
 */
export function floorPut(databaseName: string, durability: IDBTransactionDurability = 'relaxed', commitEarly = false): (i: number) => Promise<string> {
  let database: Promise<IDBDatabase> | undefined;
  return async (i) => {
    database ??= new Promise((resolve, reject) => {
      const request = indexedDB.open(databaseName, 1);
      request.onupgradeneeded = () => request.result.createObjectStore('keys');
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
    const transaction = (await database).transaction('keys', 'readwrite', { durability });
    const key = crypto.randomUUID();
    transaction.objectStore('keys').put({ v: 1, key, fingerprint: `fp-${i}`, createdAt: Date.now(), state: 'pending' }, `fp-${i}`);
    // As the SDK's claim does since session 29: the commit asked for at once, not left to
    // follow the put's answer back to the page.
    if (commitEarly) transaction.commit();
    await new Promise<void>((resolve, reject) => {
      transaction.oncomplete = () => resolve();
      transaction.onabort = () => reject(transaction.error);
    });
    return key;
  };
}
