/** Key generation. The key's grammar (validity, header format) is the protocol's: `protocol/key-grammar.ts`. */

export type RandomBytes = (bytes: Uint8Array) => Uint8Array;

/**
 * A new random UUID v4. `crypto.randomUUID` exists only in secure contexts (https,
 * localhost), so plain-http pages fall back to `crypto.getRandomValues`, which exists
 * everywhere. Keys are never derived from the payload: two identical orders by two
 * different intents must get two keys.
 */
export function newKey(randomBytes?: RandomBytes): string {
  const cryptoApi = globalThis.crypto as Crypto | undefined;
  if (!randomBytes && typeof cryptoApi?.randomUUID === 'function') return cryptoApi.randomUUID();
  const fill = randomBytes ?? defaultRandomBytes();
  const bytes = fill(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The next default key, minted ahead by `mintAhead()`; taken by one claim only. */
let spare: string | undefined;

/**
 * The default key source: the key minted ahead if there is one, else a new one. A cold
 * `crypto.randomUUID()` cost a click 45 µs on the claim's path (docs/client-cost.md), where
 * minting it while the previous request is on the wire costs the click nothing.
 */
export function takeKey(): string {
  const key = spare ?? newKey();
  spare = undefined;
  return key;
}

/**
 * Mints the next `takeKey()` ahead: called once a request has left, while the page waits.
 * Never throws: a request sent under a given key must not fail for want of the next one
 * (no random source here); the next claim's own `newKey()` reports that.
 */
export function mintAhead(): void {
  try {
    spare ??= newKey();
  } catch {
    // Left to the claim that needs a key.
  }
}

function defaultRandomBytes(): RandomBytes {
  const cryptoApi = globalThis.crypto as Crypto | undefined;
  if (typeof cryptoApi?.getRandomValues !== 'function') {
    // Math.random is predictable; a guessable key lets another client read a stored response.
    throw new Error('submit-once: no crypto.getRandomValues in this environment; pass a key source.');
  }
  return (bytes) => cryptoApi.getRandomValues(bytes);
}
