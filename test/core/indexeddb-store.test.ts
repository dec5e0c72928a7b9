import { IDBFactory, IDBObjectStore as FakeObjectStore, IDBTransaction as FakeTransaction } from 'fake-indexeddb';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { indexedDbStore } from '../../src/core/indexeddb-store.js';
import { createSubmitter } from '../../src/core/submitter.js';
import type { SubmitEvent } from '../../src/core/events.js';
import type { KeyRecord } from '../../src/core/store.js';

// A fresh database name per test: the store keeps one connection per name for the page.
let counter = 0;
const databaseName = () => `submit-once-test-${++counter}`;

const record = (fingerprint: string, key: string): KeyRecord => ({
  v: 1,
  key,
  fingerprint,
  createdAt: 1,
  expiresAt: 2,
  attempts: 0,
  state: 'pending',
});

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('indexedDbStore', () => {
  it('round-trips records and ignores values of another shape', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const store = indexedDbStore({ databaseName: databaseName() });
    await store.batch(new Map([['fp-1', () => record('fp-1', 'k-1')], ['fp-2', () => record('fp-2', 'k-2')]]));
    expect(await store.get('fp-1')).toEqual(record('fp-1', 'k-1'));
    expect((await store.list()).map((r) => r.key).sort()).toEqual(['k-1', 'k-2']);
    await store.upsert('fp-1', () => null);
    expect(await store.get('fp-1')).toBeUndefined();
    const seen: Array<KeyRecord | undefined> = [];
    const written = await store.upsert('fp-2', (current) => {
      seen.push(current);
      return { ...current!, attempts: 5 };
    });
    // The last call decides over the stored record (an earlier one may be a speculative add).
    expect(seen.at(-1)?.key).toBe('k-2');
    expect(written?.attempts).toBe(5);
    expect((await store.get('fp-2'))?.attempts).toBe(5);
  });

  it('opens one connection per database for the page, however many stores and operations use it', async () => {
    const factory = new IDBFactory();
    const open = vi.spyOn(factory, 'open');
    vi.stubGlobal('indexedDB', factory);
    const name = databaseName();
    const [a, b] = [indexedDbStore({ databaseName: name }), indexedDbStore({ databaseName: name })];
    await Promise.all([a.upsert('fp-1', () => record('fp-1', 'k-1')), b.get('fp-1'), a.list()]);
    await b.upsert('fp-2', () => record('fp-2', 'k-2'));
    expect((await a.list()).map((r) => r.key).sort()).toEqual(['k-1', 'k-2']);
    expect(open).toHaveBeenCalledTimes(1);
  });

  it("commits a turn of blind adds as soon as the turn ends, and a turn with a read by itself", async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const commit = vi.spyOn(FakeTransaction.prototype, 'commit');
    const store = indexedDbStore({ databaseName: databaseName() });
    await Promise.all([store.upsert('fp-1', () => record('fp-1', 'k-1')), store.upsert('fp-2', () => record('fp-2', 'k-2'))]);
    expect(commit).toHaveBeenCalledTimes(1);
    // A read's write is placed from its answer: that turn cannot commit before it.
    await Promise.all([store.upsert('fp-3', () => record('fp-3', 'k-3')), store.get('fp-1')]);
    expect(commit).toHaveBeenCalledTimes(1);
    expect((await store.list()).map((r) => r.key).sort()).toEqual(['k-1', 'k-2', 'k-3']);
  });

  // A claim over a record another page wrote (before a reload: this store does not know it
  // is there), beside a new one, in one turn committed early. Whatever the browser does with
  // that commit, the first reuses the stored key and the second keeps its own.
  it.each([
    ['the transaction completes without the failed add (the spec, fake-indexeddb)', undefined],
    [
      'the whole transaction aborts (Chromium: UnknownError); both run again, once',
      function (this: IDBTransaction) {
        this.abort();
      },
    ],
    [
      'commit() throws, the transaction inactive already: it commits by itself, quietly',
      () => {
        throw new DOMException('not active', 'InvalidStateError');
      },
    ],
  ] as const)('a claim whose early-committed add finds a record is decided over it: %s', async (_, commits) => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const name = databaseName();
    const store = indexedDbStore({ databaseName: name });
    await indexedDbStore({ databaseName: name }).upsert('fp-1', () => record('fp-1', 'k-1'));
    const commit = vi.spyOn(FakeTransaction.prototype, 'commit');
    if (commits) commit.mockImplementation(commits);
    const claim = (fp: string, key: string) => store.upsert(fp, (current) => current ?? record(fp, key));
    const [one, two] = await Promise.all([claim('fp-1', 'new-1'), claim('fp-2', 'k-2')]);
    expect(commit).toHaveBeenCalledTimes(1);
    expect([one?.key, two?.key]).toEqual(['k-1', 'k-2']);
    expect((await store.list()).map((r) => r.key).sort()).toEqual(['k-1', 'k-2']);
  });

  it('reads first, without a blind add, where it wrote the record itself (the same cart ordered again)', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const store = indexedDbStore({ databaseName: databaseName() });
    await store.upsert('fp-1', () => record('fp-1', 'k-1'));
    const add = vi.spyOn(FakeObjectStore.prototype, 'add');
    const commit = vi.spyOn(FakeTransaction.prototype, 'commit');
    const again = await store.upsert('fp-1', (current) => ({ ...current!, key: 'k-2' }));
    expect(again?.key).toBe('k-2');
    expect([add.mock.calls.length, commit.mock.calls.length]).toEqual([0, 0]);
    // Deleted, it is new again: a blind add, committed early.
    await store.upsert('fp-1', () => null);
    await store.upsert('fp-1', () => record('fp-1', 'k-3'));
    expect([add.mock.calls.length, commit.mock.calls.length]).toEqual([1, 1]);
    expect((await store.get('fp-1'))?.key).toBe('k-3');
  });

  it('rejects an abort of a transaction it did not commit early', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const store = indexedDbStore({ databaseName: databaseName() });
    await store.upsert('fp-1', () => record('fp-1', 'k-1'));
    // No blind add: a read, then a put that throws in its callback (DataCloneError), which aborts the transaction (AbortError).
    const unstorable = (current: KeyRecord | undefined) => (current ? ({ ...current, extra: () => 1 } as unknown as KeyRecord) : undefined);
    await expect(store.upsert('fp-1', unstorable)).rejects.toMatchObject({ name: 'AbortError' });
    expect(await store.get('fp-1')).toEqual(record('fp-1', 'k-1'));
  });

  it('rejects (so the submitter can degrade) when there is no IndexedDB', async () => {
    vi.stubGlobal('indexedDB', undefined);
    await expect(indexedDbStore({ databaseName: databaseName() }).get('x')).rejects.toThrow(/IndexedDB/);
  });
});

describe('submitter over a failing IndexedDB', () => {
  it('an open error falls back to memory with an event, and the request still goes out', async () => {
    const failingOpen = {
      open: () => {
        const request = {} as IDBOpenDBRequest & { error: DOMException };
        Object.defineProperty(request, 'error', { value: new DOMException('blocked by policy', 'UnknownError') });
        setTimeout(() => (request.onerror as ((e: Event) => void) | null)?.(new Event('error')), 0);
        return request;
      },
    };
    vi.stubGlobal('indexedDB', failingOpen);
    const events: SubmitEvent[] = [];
    const submitter = createSubmitter({
      store: indexedDbStore({ databaseName: databaseName() }),
      locks: null,
      onEvent: (event) => events.push(event),
    });
    const keys: string[] = [];
    const response = await submitter.submit({
      intent: { method: 'POST', url: '/orders', body: { a: 1 } },
      send: async ({ key }) => {
        keys.push(key);
        return new Response(null, { status: 204 });
      },
    });
    expect(response.status).toBe(204);
    expect(keys).toHaveLength(1);
    const degraded = events.find((e) => e.type === 'storage-degraded');
    expect(degraded).toMatchObject({ operation: 'upsert' });
    expect(String((degraded as { error: unknown }).error)).toMatch(/blocked by policy/);
  });

  it('a reload (a new submitter on the same database) reuses the unfinished key', async () => {
    vi.stubGlobal('indexedDB', new IDBFactory());
    const name = databaseName();
    const intent = { method: 'POST', url: '/orders', body: { a: 1 } };
    const keys: string[] = [];
    const send = async ({ key }: { key: string }) => {
      keys.push(key);
      if (keys.length === 1) throw new TypeError('network down');
      return new Response(null, { status: 201 });
    };
    const first = createSubmitter({ store: indexedDbStore({ databaseName: name }), locks: null, retry: 1 });
    await expect(first.submit({ intent, send })).rejects.toThrow();
    await first.idle();
    const second = createSubmitter({ store: indexedDbStore({ databaseName: name }), locks: null, retry: 1 });
    await second.submit({ intent, send });
    expect(keys[1]).toBe(keys[0]);
  });
});
