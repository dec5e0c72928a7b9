import { describe, expect, it } from 'vitest';
import { Audit } from '../../src/server/audit.js';
import { KEY_WIDTH } from '../../src/server/run-once-keys.js';
import { storageKeyOf } from '../../src/server/storage-key.js';

const scope = (key: string, principal?: string) => ({ key, method: 'POST', route: '/orders', ...(principal === undefined ? {} : { principal }) });
const storageKey = (key: string, principal?: string) => storageKeyOf(principal, 'POST', '/orders', key);

/** Runs `key` once here and stores its answer, as the request path does. */
function runOnce(audit: Audit, key: string, status: number, principal?: string): void {
  const place = audit.executed(storageKey(key, principal), scope(key, principal), 1, 'none');
  audit.completed(storageKey(key, principal), scope(key, principal), status, place);
}

describe('audit: run-once keys kept off the heap', () => {
  it('keeps two keys whose hashes collide apart', () => {
    // These two storage keys have the same 30-bit hash in `RunOnceKeys`.
    const audit = new Audit(10);
    runOnce(audit, 'k84718', 201);
    runOnce(audit, 'k196556', 202);
    // The second key runs again (its record expired from the store): only its own count moves.
    runOnce(audit, 'k196556', 203);
    expect(audit.snapshot().keys).toEqual([
      expect.objectContaining({ key: 'k84718', executions: 1, lastStatus: 201 }),
      expect.objectContaining({ key: 'k196556', executions: 2, lastStatus: 203 }),
    ]);
    expect(audit.snapshot().totals.executions).toBe(3);
  });

  it('keeps keys that do not fit (too long, past latin1) exactly, in order, through eviction', () => {
    const audit = new Audit(3);
    const long = 'x'.repeat(KEY_WIDTH);
    runOnce(audit, 'a', 201);
    runOnce(audit, long, 202);
    runOnce(audit, 'k', 203, '漢字');
    runOnce(audit, 'b', 204, 'é');
    runOnce(audit, 'c', 205);
    expect(audit.snapshot().keys).toEqual([
      expect.objectContaining({ key: 'k', principal: '漢字', executions: 1, lastStatus: 203 }),
      expect.objectContaining({ key: 'b', principal: 'é', executions: 1, lastStatus: 204 }),
      expect.objectContaining({ key: 'c', executions: 1, lastStatus: 205 }),
    ]);
    // The evicted long key is new again: one run, not two.
    runOnce(audit, long, 206);
    expect(audit.snapshot().keys.map((k) => [k.key.length, k.executions])).toEqual([[1, 1], [1, 1], [KEY_WIDTH, 1]]);
  });

  it('gives a key kept off the heap its record in place when anything else happens to it', () => {
    const audit = new Audit(10);
    runOnce(audit, 'a', 201);
    runOnce(audit, 'b', 201);
    audit.replayed(storageKey('a'), scope('a'), 201, 1);
    runOnce(audit, 'a', 200);
    expect(audit.snapshot().keys).toEqual([
      expect.objectContaining({ key: 'a', executions: 2, replays: 1, lastStatus: 200 }),
      expect.objectContaining({ key: 'b', executions: 1, replays: 0, lastStatus: 201 }),
    ]);
  });

  it('records a completion whose place was taken again since its run, or reset, by the key, not at the place', () => {
    const audit = new Audit(2);
    const a = audit.executed(storageKey('a'), scope('a'), 1, 'none');
    runOnce(audit, 'b', 202);
    // c takes a's place: a's late completion must not land on c.
    const c = audit.executed(storageKey('c'), scope('c'), 1, 'none');
    audit.completed(storageKey('a'), scope('a'), 201, a);
    audit.completed(storageKey('c'), scope('c'), 203, c);
    // a's record (made by its completion) took b's place in turn.
    expect(audit.snapshot().keys).toEqual([
      expect.objectContaining({ key: 'c', executions: 1, lastStatus: 203 }),
      expect.objectContaining({ key: 'a', executions: 0, lastStatus: 201 }),
    ]);

    const d = audit.executed(storageKey('d'), scope('d'), 1, 'none');
    audit.reset();
    // After a reset, e gets place 0 again: d's completion (from before) must not land on it.
    const e = audit.executed(storageKey('e'), scope('e'), 1, 'none');
    audit.completed(storageKey('d'), scope('d'), 204, d);
    audit.completed(storageKey('e'), scope('e'), 205, e);
    expect(audit.snapshot().keys).toEqual([
      expect.objectContaining({ key: 'e', executions: 1, lastStatus: 205 }),
      expect.objectContaining({ key: 'd', executions: 0, lastStatus: 204 }),
    ]);
  });
});
