import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileStore } from '../../src/server/index.js';
import { CLEAR_LINE, recordLine } from '../../src/server/stores/file-line.js';
import type { TableRecord } from '../../src/server/stores/table.js';
import type { StoredResponse } from '../../src/server/stores/types.js';
import { claimOf } from './conformance.js';

const dir = mkdtempSync(join(tmpdir(), 'submit-once-file-line-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The format as files were written before the lines were built by hand: `JSON.stringify` of these objects. */
function entryAsObject(key: string, record: TableRecord): string {
  const response = (r: StoredResponse) => {
    const encoded = { s: r.status, h: r.headers, b: Buffer.from(r.body).toString('base64') };
    return r.omittedBodyBytes === undefined ? encoded : { ...encoded, o: r.omittedBodyBytes };
  };
  const v =
    record.state === 'in-progress'
      ? { s: 'p', f: record.fingerprint, t: record.token, n: record.executions, l: record.leaseExpiresAt, m: record.retentionMs }
      : record.state === 'completed'
        ? { s: 'd', f: record.fingerprint, n: record.executions, e: record.expiresAt, r: response(record.response) }
        : record.state === 'unknown'
          ? { s: 'u', f: record.fingerprint, t: record.token, n: record.executions, e: record.expiresAt }
          : { s: 'x', f: record.fingerprint, n: record.executions, e: record.expiresAt };
  return JSON.stringify({ o: 'r', k: key, v });
}

// Every escape JSON has: quotes, backslashes, control characters, lone surrogates, non-ASCII.
const strings = ['', 'plain', '["p","POST","/orders","k"]', 'a"b\\c/d', '\n\r\t\b\f\u0000\u001f\u007f', '\ud800 \udfff', 'é€😀', '\u2028\u2029'];
const body = new Uint8Array([0, 1, 2, 250, 255, 10, 34]);

function records(s: string): TableRecord[] {
  return [
    { state: 'in-progress', fingerprint: s, token: `1.${s}`, executions: 1, leaseExpiresAt: 1_790_000_000_123, retentionMs: 86_400_000 },
    { state: 'completed', fingerprint: s, executions: 3, expiresAt: 1_790_000_000_456, response: { status: 201, headers: { 'content-type': s, 'set-cookie': [s, 'b=2'] }, body } },
    { state: 'completed', fingerprint: s, executions: 2, expiresAt: Number.POSITIVE_INFINITY, response: { status: 200, headers: {}, body: new Uint8Array(), omittedBodyBytes: 1_000_000 } },
    { state: 'unknown', fingerprint: s, token: `2.${s}`, executions: 2, expiresAt: 0 },
    { state: 'released', fingerprint: s, executions: -0, expiresAt: Number.NaN },
  ];
}

describe('file store lines', () => {
  it('writes each record as the same text JSON.stringify made of its entry, so files from before still load alike', () => {
    for (const s of strings) {
      for (const record of records(s)) expect(recordLine(s, record)).toBe(entryAsObject(s, record));
    }
    // A body that is a view into a larger buffer: only its own bytes.
    const view = new Uint8Array(Buffer.from('xxhelloxx')).subarray(2, 7);
    const completed: TableRecord = { state: 'completed', fingerprint: 'fp', executions: 1, expiresAt: 5, response: { status: 200, headers: {}, body: view } };
    expect(recordLine('k', completed)).toBe(entryAsObject('k', completed));
    expect(CLEAR_LINE).toBe(JSON.stringify({ o: 'z' }));
  });

  it('loads a file written by the earlier formats: records, clears, the lines from before execution counts, and a torn last line', async () => {
    const path = join(dir, 'old.jsonl');
    const now = Date.now();
    const later = now + 60_000;
    const response = (text: string) => ({ s: 201, h: { 'content-type': 'text/plain' }, b: Buffer.from(text).toString('base64') });
    const lines = [
      { o: 'r', k: 'cleared', v: { s: 'd', f: 'fp', n: 1, e: later, r: response('gone') } },
      { o: 'z' },
      { o: 'r', k: 'done', v: { s: 'd', f: 'fp', n: 2, e: later, r: response('kept "bytes"') } },
      { o: 'r', k: 'running', v: { s: 'p', f: 'fp', t: '4.x', n: 4, l: now, m: 60_000 } },
      { o: 'r', k: 'released', v: { s: 'x', f: 'fp', n: 1, e: later } },
      { o: 'c', k: 'legacy-claim', f: 'fp', t: '1.x', l: now },
      { o: 'd', k: 'legacy-done', f: 'fp', e: later, r: response('legacy') },
      { o: 'c', k: 'legacy-released', f: 'fp', t: '1.y', l: now },
      { o: 'x', k: 'legacy-released' },
    ].map((line) => JSON.stringify(line));
    writeFileSync(path, `${lines.join('\n')}\n{"o":"r","k":"torn","v":{"s":"d","f":"fp","n":1,"e`);
    const store = fileStore(path, { sweepIntervalMs: 0 });
    const at = now + 1;
    const done = await store.claim(claimOf('done', at));
    expect(done.status === 'completed' && [done.executions, Buffer.from(done.response.body).toString()]).toEqual([2, 'kept "bytes"']);
    expect(await store.claim(claimOf('running', at))).toEqual({ status: 'unknown', fingerprint: 'fp', executions: 4 });
    expect(await store.claim(claimOf('released', at))).toMatchObject({ status: 'claimed', executions: 2, rerun: 'after-release' });
    expect(await store.claim(claimOf('legacy-claim', at))).toEqual({ status: 'unknown', fingerprint: 'fp', executions: 1 });
    const legacy = await store.claim(claimOf('legacy-done', at));
    expect(legacy.status === 'completed' && Buffer.from(legacy.response.body).toString()).toBe('legacy');
    for (const key of ['cleared', 'legacy-released', 'torn']) expect(await store.claim(claimOf(key, at))).toMatchObject({ status: 'claimed', executions: 1 });
    await store.close();
    // Rewritten on open in the current format, which loads to the same records.
    expect(readFileSync(path, 'utf8')).not.toContain('"o":"c"');
    const reopened = fileStore(path, { sweepIntervalMs: 0 });
    const again = await reopened.claim(claimOf('done', at));
    expect(again.status === 'completed' && Buffer.from(again.response.body).toString()).toBe('kept "bytes"');
    await reopened.close();
  });
});
