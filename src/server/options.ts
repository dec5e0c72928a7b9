import type { IncomingMessage } from 'node:http';
import { HEADER_NAME, KEY_HEADER, KEYED_METHODS } from '../protocol/index.js';
import { checkCors, type CorsOptions } from './cors.js';
import { InvalidOptionsError, positive } from './invalid-options-error.js';
import type { IdempotencyEvent } from './events.js';
import { credentialPrincipal, type PrincipalResolver } from './principal.js';
import { memoryStore } from './stores/memory.js';
import { readProperty } from './read-property.js';
import type { IdempotencyStore } from './stores/types.js';
import { tokenAuthority, type TokenAuthority, type TokenOptions } from './tokens.js';

/** How long a completed answer is kept and replayed, by default: 24 h. */
export const DEFAULT_RETENTION_MS = 24 * 60 * 60 * 1000;

export interface IdempotencyOptions {
  /** Request header carrying the key. Default `Idempotency-Key`. */
  readonly header?: string;
  /** Methods guarded; others pass straight through. Default POST and PATCH. */
  readonly methods?: readonly string[];
  /** Answer 400 when a guarded request has no key. Default true; false lets it through unguarded. */
  readonly required?: boolean;
  /**
   * Namespaces keys per caller (a user id, an API key id), so a guessed key can never
   * return someone else's stored response. Default: a hash of the request's credentials
   * (`Authorization` and the `principalCookies`), so callers with different credentials
   * never share a key space. `false`: one key space shared by every caller (explicit
   * opt-out, for single-tenant APIs).
   */
  readonly principal?: PrincipalResolver | false;
  /** Cookies that identify the caller, hashed into the default principal, e.g. `['session']`. */
  readonly principalCookies?: readonly string[];
  /**
   * Run the handler again, as a recovery run, for a key whose earlier run's outcome is
   * unknown (its process died, its lease ran out, its upstream failed after delivery).
   * The handler sees `req.idempotency.recovery === true` and must dedupe by key itself
   * (a unique (principal, key) index). Default false: such a key answers 500 `outcome-unknown`.
   */
  readonly recovery?: boolean;
  /**
   * Longest a handler keeps its claim, ms: past it the lease is no longer renewed, and the
   * key turns `outcome-unknown` once the lease runs out (never free). Default 5 min.
   */
  readonly maxRunMs?: number;
  /** The route part of the storage key. Default: the request path without the query. */
  readonly route?: (req: IncomingMessage) => string;
  /** Where keys live. Default `memoryStore()`. */
  readonly store?: IdempotencyStore;
  /**
   * In-progress lease, ms: a running handler keeps renewing it; once a claim's lease has
   * run out (its process died) the key answers `outcome-unknown`. Default 10 s.
   */
  readonly leaseMs?: number;
  /** Retention of a completed response, ms. Default 24 h. */
  readonly ttl?: number;
  /** Largest request body read, bytes; more is answered 413. Default 1 MiB. */
  readonly maxBodyBytes?: number;
  /**
   * Largest response body stored, bytes. A larger one still reaches the first caller, the
   * key counts as done, and a replay answers 410 `response-not-stored`. Default 1 MiB.
   */
  readonly maxResponseBytes?: number;
  /** Free the key when the handler answers 5xx, so a retry runs again. Default true. */
  readonly releaseOn5xx?: boolean;
  /** Response headers replayed besides the defaults. `Set-Cookie` is never replayed. */
  readonly replayHeaders?: readonly string[];
  /** CORS for browser front ends on another origin. Default off. */
  readonly cors?: boolean | CorsOptions;
  /** Serve the audit as JSON here (GET, DELETE resets). Default off. */
  readonly statsPath?: string | false;
  /** Per-key audit records kept, oldest dropped first. Default 10 000. */
  readonly auditLimit?: number;
  readonly onEvent?: (event: IdempotencyEvent) => void;
  /**
   * Token mode: accept only keys this server issued (`issueToken(req)`), to this
   * principal, unexpired; anything else gets 400 `token-invalid` or `token-expired`.
   */
  readonly tokens?: TokenOptions;
  /**
   * Clock, ms since the epoch; injectable for tests. The Redis store judges leases and
   * retention by Redis's own clock unless made with `clock: 'caller'`.
   */
  readonly now?: () => number;
}

/** `maxRunMs` when not given: 5 minutes. */
export const DEFAULT_MAX_RUN_MS = 5 * 60 * 1000;

/** Headers a replay carries by default: those that describe the representation, never credentials. */
export const DEFAULT_REPLAY_HEADERS: readonly string[] = [
  'content-type',
  // The stored bytes are the encoded ones (a compressing upstream, `compression()`): without it they cannot be read.
  'content-encoding',
  'content-language',
  'content-location',
  // A download's name and whether it opens inline: a replayed receipt must save as the first one did.
  'content-disposition',
  'location',
  'cache-control',
  'expires',
  'etag',
  'last-modified',
  'link',
  'vary',
];

/** Never replayed whatever the options say: they belong to the original caller's session. */
const NEVER_REPLAYED = new Set(['set-cookie', 'set-cookie2', 'www-authenticate', 'authorization']);

export interface ResolvedOptions {
  readonly header: string;
  readonly headerLower: string;
  readonly methods: ReadonlySet<string>;
  readonly required: boolean;
  /** undefined: one shared key space (`principal: false`). */
  readonly principal: PrincipalResolver | undefined;
  readonly recovery: boolean;
  readonly maxRunMs: number;
  readonly route: (req: IncomingMessage) => string;
  readonly store: IdempotencyStore;
  readonly leaseMs: number;
  readonly ttl: number;
  readonly maxBodyBytes: number;
  readonly maxResponseBytes: number;
  readonly releaseOn5xx: boolean;
  readonly replayHeaders: ReadonlySet<string>;
  readonly cors: CorsOptions | undefined;
  readonly statsPath: string | undefined;
  readonly auditLimit: number;
  readonly onEvent: ((event: IdempotencyEvent) => void) | undefined;
  readonly tokens: TokenAuthority | undefined;
  readonly now: () => number;
}

const MIB = 1024 * 1024;

export function resolveOptions(options: IdempotencyOptions): ResolvedOptions {
  const header = options.header ?? KEY_HEADER;
  if (!HEADER_NAME.test(header)) throw new InvalidOptionsError('header', `not a header name: ${JSON.stringify(header)}`);
  if (options.statsPath !== undefined && options.statsPath !== false && !options.statsPath.startsWith('/')) {
    throw new InvalidOptionsError('statsPath', `a request path starts with "/", got ${JSON.stringify(options.statsPath)}`);
  }
  const leaseMs = positive('leaseMs', options.leaseMs ?? 10_000);
  const ttl = positive('ttl', options.ttl ?? DEFAULT_RETENTION_MS);
  const tokens = options.tokens === undefined ? undefined : tokenAuthority(options.tokens);
  // A token's answer is stored after it was issued: kept at least as long as the token
  // lives, a reuse finds it (a replay) or the token expired. Kept shorter, an unexpired
  // token reused after its record is dropped claims a free key and runs again.
  if (tokens !== undefined && tokens.ttl > ttl) {
    throw new InvalidOptionsError('tokens.ttl', `a token lives ${tokens.ttl} ms, longer than its answer is kept (ttl ${ttl} ms): reused after that, it would run again. Give tokens.ttl at most ttl`);
  }
  return {
    header,
    headerLower: header.toLowerCase(),
    methods: new Set(strings('methods', options.methods ?? KEYED_METHODS).map((m) => m.toUpperCase())),
    required: options.required ?? true,
    principal: options.principal === false ? undefined : (options.principal ?? credentialPrincipal(strings('principalCookies', options.principalCookies ?? []))),
    recovery: options.recovery ?? false,
    maxRunMs: positive('maxRunMs', options.maxRunMs ?? DEFAULT_MAX_RUN_MS),
    route: options.route ?? requestPath,
    store: options.store ?? memoryStore(),
    leaseMs,
    ttl,
    maxBodyBytes: positive('maxBodyBytes', options.maxBodyBytes ?? MIB),
    maxResponseBytes: positive('maxResponseBytes', options.maxResponseBytes ?? MIB),
    releaseOn5xx: options.releaseOn5xx ?? true,
    replayHeaders: new Set(
      [...DEFAULT_REPLAY_HEADERS, ...strings('replayHeaders', options.replayHeaders ?? [])]
        .map((h) => h.toLowerCase())
        .filter((h) => !NEVER_REPLAYED.has(h)),
    ),
    cors: options.cors === true ? {} : options.cors === false || options.cors === undefined ? undefined : checkCors(options.cors),
    statsPath: options.statsPath === false ? undefined : options.statsPath,
    auditLimit: positive('auditLimit', options.auditLimit ?? 10_000),
    onEvent: options.onEvent,
    tokens,
    now: options.now ?? Date.now,
  };
}

/** A list of strings; one string instead (`methods: 'POST'`) would be spread into letters or fail in `.map`. */
function strings(name: string, value: readonly string[]): readonly string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new InvalidOptionsError(name, `expected an array of strings, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Path of a request without its query; Express's `originalUrl` survives mounting. */
export function requestPath(req: IncomingMessage): string {
  const url = readProperty<string | undefined>(req, 'originalUrl') ?? readProperty<string | undefined>(req, 'url') ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export function requestQuery(req: IncomingMessage): string {
  const url = readProperty<string | undefined>(req, 'originalUrl') ?? readProperty<string | undefined>(req, 'url') ?? '/';
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q + 1);
}
