/**
 * File uploads: a Blob, a FormData with files, bytes that are not UTF-8. Their bytes were
 * copied into one string to be hashed, ~4x the body in memory and seconds of main thread
 * for tens of MB, and a body past V8's longest string (~512 MiB) could not be sent at all.
 */
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../src/core/fingerprint.js';

const base = { method: 'POST', url: 'https://shop.test/upload' };
const bin = new Uint8Array([0xff, 0x00, 0x80, 0xc3, 0x28, 0x41, 0xfe]);

describe('fingerprints of byte bodies', () => {
  it('are the ones earlier versions stored (an ambiguous upload keeps its key across an upgrade)', async () => {
    const fd = new FormData();
    fd.append('title', 'A é');
    fd.append('file', new File([bin], 'photo.jpg', { type: 'image/jpeg' }));
    fd.append('note', new Blob(['plain text'], { type: 'text/plain' }));
    fd.append('a', 'first');
    expect(await fingerprint({ ...base, body: new Blob([bin], { type: 'application/octet-stream' }) })).toBe('v1:48896ef520ec7cf4');
    expect(await fingerprint({ ...base, body: new Blob([]) })).toBe('v1:42b942c2208392fe');
    expect(await fingerprint({ ...base, body: fd, scope: 'u1' })).toBe('v1:bc69fd7cdb1790dc');
    expect(await fingerprint({ ...base, body: bin })).toBe('v1:f84873e1ffe3ea89');
    expect(await fingerprint({ ...base, body: bin.buffer })).toBe('v1:f84873e1ffe3ea89');
    expect(await fingerprint(new Request(base.url, { method: 'POST', body: bin }))).toBe('v1:f84873e1ffe3ea89');
    // One byte apart, at the end of a file: another intent.
    const big = new Uint8Array(1 << 20);
    const other = big.slice();
    other[other.length - 1] = 1;
    expect(await fingerprint({ ...base, body: new Blob([big]) })).not.toBe(await fingerprint({ ...base, body: new Blob([other]) }));
  });

  it('are taken of a file larger than the longest string V8 can make', async () => {
    // 520 MiB: past 2^29 - 24 characters, the longest string (RangeError: Invalid string length).
    const file = new Blob([new Uint8Array(520 * 2 ** 20).fill(0xff)], { type: 'video/mp4' });
    const printed = await fingerprint({ ...base, body: file });
    expect(printed).toMatch(/^v1:[0-9a-f]{16}$/);
  }, 120_000);
});
