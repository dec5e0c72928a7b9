/**
 * Server-issued one-time keys ("anti-resubmit tokens"): the server hands the page a key,
 * and the middleware then accepts only keys it issued, for this caller, unexpired. The
 * first request with a token claims it like any key (that claim is the consumption, so
 * every store enforces "once"); a repeat replays.
 *
 * Tokens are signed, not stored: `st2.<kid>.<expiry>.<nonce>.<mac>`, the MAC an
 * HMAC-SHA256 over those parts (the version included) and the principal. So issuing
 * writes nothing (a page load that never submits costs no store row, and a flood of token
 * requests cannot fill the store), and any verifier instance holding the secret can check one. Rotation:
 * `secrets` is a list, newest first; tokens are signed with the first and accepted under
 * any of them (found by `kid`, a hash prefix of the secret), so a new secret is added in
 * front, and the old one dropped once the tokens it signed have expired.
 *
 * The version sets the claim's scope. An st2 token is claimed once, whatever the method
 * and route it is sent with (a router may send `/orders/` and `/ORDERS` to one handler).
 * An st1 token (issued before st2) was claimed once per method and route, and keeps that
 * storage key, so a retry across the upgrade finds its record; st1 can be dropped (a major
 * version) once every st1 token has expired and its stored answer is past retention.
 *
 * Every part is visible ASCII and the whole is under 100 characters, so a token is a key
 * under the protocol's grammar as it is: the key grammar needed no change.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ProblemCode } from '../protocol/index.js';
import { InvalidOptionsError } from './invalid-options-error.js';

export interface TokenOptions {
  /** HMAC secrets, newest first: tokens are signed with the first and accepted under any. At least 32 characters each. */
  readonly secrets: readonly string[];
  /**
   * How long an issued token may make its first request, ms. A repeat replays whatever its
   * age. Default 1 h; at most the middleware's `ttl` (else `InvalidOptionsError`).
   */
  readonly ttl?: number;
  /**
   * The version new tokens are issued in. Default `'st2'`. `'st1'` during a rolling upgrade,
   * while instances of a version before st2 (which refuse st2 tokens) still serve; both are
   * accepted either way.
   */
  readonly format?: TokenFormat;
}

export type TokenFormat = 'st1' | 'st2';

/** A token as handed to the page. */
export interface IssuedToken {
  readonly token: string;
  /** ms since the epoch; after it the token can no longer make a first request. */
  readonly expiresAt: number;
  /** ms from issue to `expiresAt`: the page counts it on its own clock, which is not the server's. */
  readonly expiresIn: number;
}

/**
 * How a key fares as a token: refused before any store work, or accepted (`expired`: only a
 * repeat may pass). `scope`: what the claim is scoped by besides the principal: the token
 * alone (st2), or the method and route too (st1).
 */
export type TokenCheck =
  | { readonly ok: true; readonly expired: boolean; readonly scope: 'token' | 'route' }
  | { readonly ok: false; readonly problem: Extract<ProblemCode, 'token-invalid'>; readonly detail: string };

export interface TokenAuthority {
  /** How long an issued token may make its first request, ms. */
  readonly ttl: number;
  issue(principal: string | undefined, now: number): IssuedToken;
  check(key: string, principal: string | undefined, now: number): TokenCheck;
}

const FORMATS: readonly TokenFormat[] = ['st1', 'st2'];
export const MIN_SECRET_LENGTH = 32;
export const DEFAULT_TOKEN_TTL = 60 * 60 * 1000;

/**
 * The principal as the MAC binds it: one spelling for each principal the claim's storage
 * key tells apart. Read as `principal ?? ''`, an empty principal and none were one caller
 * to the token and two to the store: one token, two claims, two runs. None and a non-empty
 * string keep the spelling tokens were issued under; `''` (and a number, which the storage
 * key keeps apart from its text) take another, behind a byte (SOH) that, like NUL, never
 * occurs in the body, so no principal can be spelled into another.
 */
function boundTo(principal: string | undefined): string {
  const given: unknown = principal;
  if (given === undefined || given === null) return '\0';
  if (typeof given === 'string' && given !== '') return `\0${given}`;
  return `\x01${JSON.stringify(given)}`;
}

/**
 * @example
 * const tokens = tokenAuthority({ secrets: [process.env.TOKEN_SECRET!] })
 * tokens.issue('user-42', Date.now()) // { token: 'st2.…', expiresAt: … }
 */
export function tokenAuthority(options: TokenOptions): TokenAuthority {
  if (!Array.isArray(options.secrets) || options.secrets.length === 0) throw new InvalidOptionsError('tokens.secrets', 'needs at least one secret');
  const keys = options.secrets.map((secret) => {
    if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
      throw new InvalidOptionsError('tokens.secrets', `each must be a string of at least ${MIN_SECRET_LENGTH} characters`);
    }
    // A prefix of a hash of a high-entropy secret: names it without revealing it.
    return { kid: createHash('sha256').update(secret).digest('base64url').slice(0, 8), secret };
  });
  const ttl = options.ttl ?? DEFAULT_TOKEN_TTL;
  if (!Number.isFinite(ttl) || ttl <= 0) throw new InvalidOptionsError('tokens.ttl', `expected a positive number, got ${ttl}`);
  const format = options.format ?? 'st2';
  if (!FORMATS.includes(format)) throw new InvalidOptionsError('tokens.format', `expected 'st1' or 'st2', got ${String(format)}`);
  const signing = keys[0]!;
  const byKid = new Map(keys.map((k) => [k.kid, k.secret]));

  const mac = (secret: string, body: string, principal: string | undefined): Buffer =>
    createHmac('sha256', secret).update(`${body}${boundTo(principal)}`).digest();

  return {
    ttl,
    issue(principal, now) {
      const expiresAt = now + ttl;
      const body = `${format}.${signing.kid}.${expiresAt.toString(36)}.${randomBytes(16).toString('base64url')}`;
      return { token: `${body}.${mac(signing.secret, body, principal).toString('base64url')}`, expiresAt, expiresIn: ttl };
    },
    check(key, principal, now) {
      const invalid = { ok: false, problem: 'token-invalid', detail: 'The key is not a token this server issued to this caller.' } as const;
      const parts = key.split('.');
      if (parts.length !== 5) return invalid;
      const [version, kid, expiry, , signature] = parts as [string, string, string, string, string];
      // The MAC covers the version: an st2 token relabelled st1 (per-route claims) is refused.
      if (version !== 'st2' && version !== 'st1') return invalid;
      const secret = byKid.get(kid);
      if (secret === undefined) return invalid;
      // Compared as text, not decoded: Node's base64url decoder skips stray characters, so
      // decoding would let two spellings of one token be two keys, each claimed once.
      const given = Buffer.from(signature);
      const expected = Buffer.from(mac(secret, parts.slice(0, 4).join('.'), principal).toString('base64url'));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return invalid;
      return { ok: true, expired: parseInt(expiry, 36) <= now, scope: version === 'st2' ? 'token' : 'route' };
    },
  };
}
