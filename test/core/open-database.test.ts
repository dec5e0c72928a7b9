import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../src/core/open-database.js';

const rawOpen = (name: string, version: number) =>
  new Promise<IDBDatabase>((resolve, reject) => {
    const request = indexedDB.open(name, version);
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains('s')) request.result.createObjectStore('s');
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });

describe('openDatabase', () => {
  beforeEach(() => vi.stubGlobal('indexedDB', new IDBFactory()));
  afterEach(() => vi.unstubAllGlobals());

  it('opens a name once for the page, and reopens after the browser closed it', async () => {
    const upgrade = vi.fn((db: IDBDatabase) => void db.createObjectStore('s'));
    const first = await openDatabase('once', 1, upgrade);
    expect(await openDatabase('once', 1, upgrade)).toBe(first);
    expect(upgrade).toHaveBeenCalledTimes(1);
    first.onclose?.(new Event('close'));
    expect(await openDatabase('once', 1, upgrade)).not.toBe(first);
  });

  it('rejects at once when an older version held elsewhere blocks the upgrade, and closes the late connection', async () => {
    // Another tab's connection that never lets go of version 1.
    const held = await rawOpen('blocked', 1);
    held.onversionchange = null;
    const opening = openDatabase('blocked', 2, () => undefined);
    await expect(opening).rejects.toMatchObject({ name: 'InvalidStateError' });

    // Once the other tab closes, the open completes; that connection is closed, not leaked,
    // so a later upgrade is not blocked by it.
    held.close();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = await rawOpen('blocked', 3);
    expect(later.version).toBe(3);
    later.close();
  });
});
