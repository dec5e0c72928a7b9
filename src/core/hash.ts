/**
 * A fast, synchronous 64-bit non-cryptographic hash (two independent 32-bit lanes of a
 * murmur-style mix). The fingerprint only finds the local record, the server checks the
 * payload itself, so collision resistance against an attacker is not needed, and
 * `crypto.subtle` (secure contexts only, always async) is not used.
 */
export function hash64(text: string | readonly (string | Uint8Array)[]): string {
  // Parts hash as their concatenation, a byte as the Latin-1 character of its value: a
  // file's bytes are hashed where they lie, not copied into a string first (4x the file in
  // memory, seconds per 64 MB, and none past the longest string V8 makes, ~512 MiB).
  const parts = typeof text === 'string' ? [text] : text;
  let length = 0;
  for (const part of parts) length += part.length;
  let h1 = 0xdeadbeef ^ length;
  let h2 = 0x41c6ce57 ^ length;
  for (const part of parts) {
    const chars = typeof part === 'string';
    for (let i = 0; i < part.length; i++) {
      const ch = chars ? part.charCodeAt(i) : part[i]!;
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (h2 >>> 0).toString(16).padStart(8, '0') + (h1 >>> 0).toString(16).padStart(8, '0');
}
