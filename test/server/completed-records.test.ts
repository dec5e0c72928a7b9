import { describe, expect, it } from 'vitest';
import { CompletedRecords } from '../../src/server/stores/completed-records.js';
import type { CompletedFields } from '../../src/server/stores/packed-record.js';

const everyByte = Uint8Array.from({ length: 256 }, (_, i) => i);

function record(n: number, expiresAt = 1_000, body: Uint8Array = Buffer.from(`{"id":${n}}`)): CompletedFields {
  return {
    fingerprint: `fp-${n}`,
    executions: (n % 5) + 1,
    expiresAt,
    response: { status: 201, headers: { 'content-type': 'application/json', vary: ['Accept', `X-${n}`] }, body },
  };
}

/** The record as plain data, its body as an array, for `toEqual`. */
function plain(fields: CompletedFields | undefined): unknown {
  return fields === undefined ? undefined : { ...fields, response: { ...fields.response, body: [...fields.response.body] } };
}

/** Checks that `table` holds exactly `model`, by `get` and by `entries`. */
function expectSame(table: CompletedRecords, model: Map<string, CompletedFields>): void {
  expect(table.size).toBe(model.size);
  for (const [key, fields] of model) expect(plain(table.get(key))).toEqual(plain(fields));
  const listed = new Map([...table.entries()].map(([key, fields]) => [key, plain(fields)]));
  expect(listed).toEqual(new Map([...model].map(([key, fields]) => [key, plain(fields)])));
}

describe('completed records off the heap', () => {
  it('finds every key when all of them collide (one probe run, deletions in the middle of it)', () => {
    const table = new CompletedRecords({ hash: () => 7 });
    const model = new Map<string, CompletedFields>();
    for (let i = 0; i < 200; i++) {
      table.set(`k${i}`, record(i));
      model.set(`k${i}`, record(i));
    }
    for (let i = 0; i < 200; i += 3) {
      expect(table.delete(`k${i}`)).toBe(true);
      model.delete(`k${i}`);
    }
    expect(table.delete('k0')).toBe(false);
    expectSame(table, model);
    for (let i = 0; i < 200; i += 3) expect(table.get(`k${i}`)).toBeUndefined();
  });

  it('matches a Map under random sets, deletes, replacements and sweeps (few hash values, small chunks)', () => {
    let seed = 12345;
    const random = (n: number): number => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const table = new CompletedRecords({ hash: (key) => key.length % 5, chunkBytes: 512 });
    const model = new Map<string, CompletedFields>();
    let now = 0;
    for (let step = 0; step < 5_000; step++) {
      const key = 'k'.repeat(1 + random(9)) + String(random(40));
      const action = random(10);
      if (action < 5) {
        const fields = record(step, now + 1 + random(200), new Uint8Array(random(300)).fill(step & 0xff));
        expect(table.set(key, fields)).toBe(true);
        model.set(key, fields);
      } else if (action < 8) {
        expect(table.delete(key)).toBe(model.delete(key));
      } else if (action < 9) {
        now += random(50);
        let expired = 0;
        for (const [k, fields] of model) {
          if (fields.expiresAt <= now) {
            model.delete(k);
            expired++;
          }
        }
        expect(table.sweep(now)).toBe(expired);
      } else {
        expect(plain(table.get(key))).toEqual(plain(model.get(key)));
      }
    }
    expectSame(table, model);
  });

  it('grows its index for many keys, and still finds the rest once most expired', () => {
    const table = new CompletedRecords();
    const model = new Map<string, CompletedFields>();
    for (let i = 0; i < 30_000; i++) {
      const key = JSON.stringify([null, 'POST', '/orders', `key-${i}`]);
      const fields = record(i, i < 29_000 ? 100 : 200);
      table.set(key, fields);
      model.set(key, fields);
    }
    expectSame(table, model);
    expect(table.sweep(150)).toBe(29_000);
    for (const [key, fields] of model) if (fields.expiresAt <= 150) model.delete(key);
    expectSame(table, model);
  });

  it('gives back every key and body byte for byte: every latin1 character, every UTF-16 code unit, every byte', () => {
    const table = new CompletedRecords({ chunkBytes: 4096 });
    const model = new Map<string, CompletedFields>();
    const latin1 = String.fromCharCode(...Array.from({ length: 256 }, (_, i) => i));
    const keys = [latin1, '', '\u0000', 'ÿ'];
    // Every code unit, lone surrogates included, in keys of 2048 units.
    for (let from = 0; from < 0x10000; from += 2048) {
      keys.push(String.fromCharCode(...Array.from({ length: 2048 }, (_, i) => from + i)));
    }
    keys.push('\ud800', '\udc00x', '😀', 'é€');
    keys.forEach((key, i) => {
      const fields = record(i, 1_000, i % 2 === 0 ? everyByte : new Uint8Array(0));
      table.set(key, fields);
      model.set(key, fields);
    });
    expectSame(table, model);
    // Keys that differ from a stored one only in width or in their last unit are other keys.
    expect(table.get('\u0100')).toBeUndefined();
    expect(table.get(latin1.slice(0, 255) + '\u0100')).toBeUndefined();
    expect(table.get(latin1.slice(0, 255))).toBeUndefined();
  });

  it('gives a record too large for a chunk a chunk of its own, freed with it', () => {
    const table = new CompletedRecords({ chunkBytes: 1024 });
    table.set('small', record(1));
    const held = table.reservedBytes;
    const big = Uint8Array.from({ length: 10_000 }, (_, i) => (i * 31) % 256);
    table.set('big', record(2, 1_000, big));
    expect(table.reservedBytes).toBeGreaterThan(held + big.length);
    expect(plain(table.get('big'))).toEqual(plain(record(2, 1_000, big)));
    expect(plain(table.get('small'))).toEqual(plain(record(1)));
    table.delete('big');
    expect(table.reservedBytes).toBe(held);
  });

  it('frees the chunks of expired records, and empties them of the few records that outlive the rest', () => {
    const table = new CompletedRecords({ chunkBytes: 4096 });
    // Each chunk holds about 40 records; one in 50 is kept for long.
    for (let i = 0; i < 2_000; i++) table.set(`k${i}`, record(i, i % 50 === 0 ? 10_000 : 100));
    const full = table.reservedBytes;
    expect(full).toBeGreaterThan(40 * 4096);
    expect(table.sweep(100)).toBe(1_960);
    // The 40 survivors fit in two chunks: the others are dropped, not pinned by them.
    expect(table.reservedBytes).toBeLessThanOrEqual(3 * 4096);
    for (let i = 0; i < 2_000; i += 50) expect(plain(table.get(`k${i}`))).toEqual(plain(record(i, 10_000)));
    expect(table.sweep(10_000)).toBe(40);
    expect(table.size).toBe(0);
    expect(table.reservedBytes).toBeLessThanOrEqual(4096);
  });

  it('keeps space bounded when keys come and go (written, replaced, deleted)', () => {
    const table = new CompletedRecords({ chunkBytes: 4096 });
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 200; i++) table.set(`k${i}`, record(round * 1000 + i, round + 1));
      table.sweep(round);
    }
    expect(table.size).toBe(200);
    expect(table.reservedBytes).toBeLessThanOrEqual(4 * 200 * 80 + 2 * 4096);
  });

  it('stores nothing for a record it cannot pack, replaces nothing and keeps no space for it', () => {
    const table = new CompletedRecords({ chunkBytes: 1024 });
    table.set('k', record(1));
    const held = table.reservedBytes;
    const unpackable: CompletedFields = { ...record(2), response: { ...record(2).response, headers: { 'content-language': '€' } } };
    expect(table.set('k', unpackable)).toBe(false);
    for (let i = 0; i < 100; i++) expect(table.set(`other${i}`, unpackable)).toBe(false);
    expect(table.size).toBe(1);
    expect(table.reservedBytes).toBe(held);
    expect(plain(table.get('k'))).toEqual(plain(record(1)));
  });

  it('keeps no space for the first try of a key past latin1 (written again two bytes a character)', () => {
    const table = new CompletedRecords({ chunkBytes: 1024 });
    const wide = (i: number): string => `ключ-${i}`;
    for (let i = 0; i < 5; i++) table.set(wide(i), record(i));
    const held = table.reservedBytes;
    for (let i = 0; i < 5; i++) table.set(wide(i), record(i));
    // Replacing five records by five of the same size needs no more room than a chunk or two.
    expect(table.reservedBytes).toBeLessThanOrEqual(held + 1024);
    for (let i = 0; i < 200; i++) {
      table.set(wide(i % 5), record(i));
    }
    expect(table.reservedBytes).toBeLessThanOrEqual(3 * 1024);
    expectSame(table, new Map(Array.from({ length: 5 }, (_, i) => [wide(i), record(195 + i)])));
  });

  it('is empty after clear, and usable again', () => {
    const table = new CompletedRecords({ chunkBytes: 1024 });
    for (let i = 0; i < 100; i++) table.set(`k${i}`, record(i));
    table.clear();
    expect(table.size).toBe(0);
    expect(table.reservedBytes).toBe(0);
    expect(table.get('k1')).toBeUndefined();
    table.set('k1', record(1));
    expectSame(table, new Map([['k1', record(1)]]));
  });
});
