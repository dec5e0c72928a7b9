import { describe, expect, it } from 'vitest';
import { packedSize, unpackCompleted, writePacked, type CompletedFields } from '../../src/server/stores/packed-record.js';
import { RecordTable, type TableRecord } from '../../src/server/stores/table.js';

const everyByte = Uint8Array.from({ length: 512 }, (_, i) => (i * 7) % 256);

function completed(extra: Partial<CompletedFields> = {}, response: Partial<CompletedFields['response']> = {}): CompletedFields {
  return {
    fingerprint: 'sLq3nnsh1v0S1JjWf4zYtDqO3oX1pLw5o8gQ4vJ0m1c',
    executions: 3,
    expiresAt: 1_764_260_000_123,
    response: { status: 201, headers: { 'content-type': 'application/json', vary: ['Accept', 'Origin'] }, body: everyByte, ...response },
    ...extra,
  };
}

/** The record packed between other bytes (the table packs into a shared chunk); undefined when it cannot be. */
function packCompleted(record: CompletedFields): { bytes: Buffer; start: number; end: number } | undefined {
  const size = packedSize(record);
  if (size < 0) return undefined;
  const bytes = Buffer.alloc(size + 10, 0xee);
  return writePacked(record, bytes, 5) ? { bytes, start: 5, end: 5 + size } : undefined;
}

describe('packed completed record', () => {
  it.each([
    ['every byte value in the body', completed()],
    ['an empty body and no headers', completed({}, { body: new Uint8Array(0), headers: {} })],
    ['a body that was not kept', completed({}, { body: new Uint8Array(0), omittedBodyBytes: 2_000_000 })],
    ['an arbitrary fingerprint with quotes and backslashes', completed({ fingerprint: 'a "b" \\ c\n' })],
    ['a fractional, tiny and huge expiry', completed({ expiresAt: 0.5 })],
    ['an expiry JSON writes with an exponent', completed({ expiresAt: 1e21 })],
    ['a negative expiry', completed({ expiresAt: -5 })],
    ['an infinite expiry', completed({ expiresAt: Number.POSITIVE_INFINITY })],
    ['latin1 text past ASCII in a header', completed({}, { headers: { 'content-language': 'café', link: ['<a>; rel="x"', 'ÿ'] } })],
    ['a header over 64 KiB', completed({}, { headers: { link: 'x'.repeat(70_000) } })],
    // Long texts are checked and copied apart from short ones (`writeLatin1`).
    ['long latin1 texts past ASCII', completed({ fingerprint: 'ÿ'.repeat(40) }, { headers: { 'content-disposition': 'attachment; filename="café-crème.txt"' } })],
  ])('comes back exactly: %s', (_name, record) => {
    const packed = packCompleted(record);
    expect(packed).toBeDefined();
    const { bytes, start, end } = packed!;
    const back = unpackCompleted(bytes, start, end);
    // Nothing read back shares the packed bytes, which the table may reuse.
    bytes.fill(0);
    expect(back.fingerprint).toBe(record.fingerprint);
    expect(back.executions).toBe(record.executions);
    expect(back.expiresAt).toBe(record.expiresAt);
    expect(back.response.status).toBe(record.response.status);
    expect(back.response.headers).toEqual(record.response.headers);
    expect(Buffer.from(back.response.body).equals(Buffer.from(record.response.body))).toBe(true);
    expect(back.response.omittedBodyBytes).toBe(record.response.omittedBodyBytes);
    expect('omittedBodyBytes' in back.response).toBe(record.response.omittedBodyBytes !== undefined);
  });

  it('is the body bytes after a small head', () => {
    const { bytes, start, end } = packCompleted(completed())!;
    expect(end - start).toBeLessThan(everyByte.length + 150);
    expect(bytes.subarray(end - everyByte.length, end).equals(Buffer.from(everyByte))).toBe(true);
  });

  it.each([
    ['a header value past latin1', completed({}, { headers: { 'content-language': '€' } })],
    ['a header list item past latin1', completed({}, { headers: { vary: ['a', 'Ā'] } })],
    ['a lone surrogate in the fingerprint', completed({ fingerprint: 'x\ud800y' })],
    ['a long header value past latin1 at its end', completed({}, { headers: { 'content-disposition': `attachment; filename="${'x'.repeat(40)}€"` } })],
    ['a long fingerprint past latin1 at its start', completed({ fingerprint: `Ā${'x'.repeat(40)}` })],
    ['a status past 16 bits', completed({}, { status: 70_000 })],
    ['a fractional execution count', completed({ executions: 1.5 })],
    ['a header value that is no text', completed({}, { headers: { 'content-length': 5 as unknown as string } })],
    ['an omitted size of -1', completed({}, { omittedBodyBytes: -1 })],
  ])('is not packed, rather than packed lossily: %s', (_name, record) => {
    expect(packCompleted(record)).toBeUndefined();
  });
});

describe('record table with packed records', () => {
  const claim = (table: RecordTable, key: string, now: number) =>
    table.claim({ key, fingerprint: 'fp', leaseMs: 1_000, retentionMs: 60_000, now, recover: false });

  it('gives back a completed record, packed or not, through get, entries and a later claim', () => {
    for (const headers of [{ 'content-type': 'text/plain' }, { 'content-language': '€' }] as Record<string, string>[]) {
      const table = new RecordTable();
      const { result } = claim(table, 'k', 0);
      if (result.status !== 'claimed') throw new Error('not claimed');
      const response = { status: 200, headers, body: everyByte };
      const stored = table.complete({ key: 'k', token: result.token, fingerprint: 'fp', response, retentionMs: 5_000, now: 10 });
      const expected: TableRecord = { state: 'completed', fingerprint: 'fp', executions: 1, response, expiresAt: 5_010 };
      expect(stored).toEqual(expected);
      const got = table.get('k');
      if (got?.state !== 'completed') throw new Error('not completed');
      expect({ ...got, response: { ...got.response, body: [...got.response.body] } }).toEqual({ ...expected, response: { ...response, body: [...everyByte] } });
      expect([...table.entries()]).toEqual([['k', got]]);
      const again = claim(table, 'k', 20).result;
      expect(again.status).toBe('completed');
      if (again.status === 'completed') expect(Buffer.from(again.response.body).equals(Buffer.from(everyByte))).toBe(true);
      // Nobody holds a completed key: its old token can neither renew nor release it.
      expect(table.renew({ key: 'k', token: result.token, leaseMs: 1_000, now: 30 })).toBeUndefined();
      expect(table.release({ key: 'k', token: result.token, retentionMs: 1_000, now: 30 })).toBeUndefined();
      expect(table.sweep(5_009)).toBe(0);
      expect(table.sweep(5_010)).toBe(1);
      expect(table.size).toBe(0);
    }
  });

  it('packs a completed record put as loaded, and drops it once expired at claim time', () => {
    const table = new RecordTable();
    const response = { status: 204, headers: {}, body: new Uint8Array(0) };
    table.put('k', { state: 'completed', fingerprint: 'fp', executions: 2, response, expiresAt: 100 });
    expect(claim(table, 'k', 99).result).toMatchObject({ status: 'completed', executions: 2 });
    expect(claim(table, 'k', 100).result).toMatchObject({ status: 'claimed', executions: 1 });
  });
});
