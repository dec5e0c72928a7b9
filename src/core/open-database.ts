/** One IndexedDB connection per database name for the page or worker: the key store's and the outbox's. */

const connections = new Map<string, Promise<IDBDatabase>>();

/**
 * Opens `name` at `version` once (STYLE 3), and forgets the connection when the open fails
 * or the browser closes it (storage cleared, another version opened), so the next use
 * reopens. An open blocked by an older version held in another tab rejects at once rather
 * than hang its caller; if it opens after all, that late connection is closed so it blocks
 * no later upgrade.
 */
export function openDatabase(name: string, version: number, upgrade: (db: IDBDatabase, oldVersion: number) => void): Promise<IDBDatabase> {
  let connection = connections.get(name);
  if (!connection) {
    const forget = () => connections.delete(name);
    connection = new Promise<IDBDatabase>((resolve, reject) => {
      const request = indexedDB.open(name, version);
      let blocked = false;
      request.onupgradeneeded = (event) => upgrade(request.result, event.oldVersion);
      request.onsuccess = () => (blocked ? request.result.close() : resolve(request.result));
      request.onerror = () => reject(request.error);
      request.onblocked = () => {
        blocked = true;
        reject(new DOMException(`${name}: blocked by an older version in another tab`, 'InvalidStateError'));
      };
    }).then((db) => {
      db.onclose = forget;
      db.onversionchange = () => (db.close(), forget());
      return db;
    });
    connection.catch(forget);
    connections.set(name, connection);
  }
  return connection;
}
