/**
 * The `submit-once-verifier` command line: flags, their checks and the help text. Pure
 * but for reading `--token-secret-file` (and package.json for `--version`), with the
 * environment passed in, so every message can be tested without starting a server. Errors name the flag as the user typed it, never an option
 * name of `createVerifier` and never a raw Node message.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MAX_TIMER_MS } from './invalid-options-error.js';
import type { FileStoreDurability } from './stores/file.js';
import { filePathOf } from './store-spec.js';
import { DEFAULT_MAX_RUN_MS, DEFAULT_RETENTION_MS } from './options.js';
import { DEFAULT_TOKEN_TTL, MIN_SECRET_LENGTH, type TokenFormat } from './tokens.js';
import { HEALTH_PATH, RESET_PATH, STATS_PATH, TOKEN_PATH } from './verifier.js';

/** Exit codes, documented in `--help`: scripts tell "fix the command" from "fix the environment". */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** A mistake in the command line: reported with exit code 2 and a pointer to `--help`. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CliConfig {
  readonly port: number;
  readonly host: string;
  readonly upstream: string | undefined;
  readonly store: string;
  readonly leaseMs: number | undefined;
  readonly ttlMs: number | undefined;
  readonly maxRunMs: number | undefined;
  readonly principalHeader: string | undefined;
  readonly principalCookies: readonly string[] | undefined;
  readonly sharedKeys: boolean;
  readonly recovery: boolean;
  /** Token mode: HMAC secrets, newest first (undefined: off). */
  readonly tokenSecrets: readonly string[] | undefined;
  readonly tokenTtlMs: number | undefined;
  readonly tokenFormat: TokenFormat | undefined;
  /** With an upstream: how long connecting to it may take (undefined: the verifier's default). */
  readonly upstreamConnectTimeoutMs: number | undefined;
  /** How long SIGTERM/SIGINT lets requests in flight finish before cutting them. */
  readonly shutdownGraceMs: number;
  /** Options of `fileStore` given on the command line (`--store file:` only). */
  readonly fileStore: { readonly preallocateBytes?: number; readonly compactAfterLines?: number; readonly durability?: FileStoreDurability };
}

export type CliCommand = { readonly command: 'help' } | { readonly command: 'version' } | { readonly command: 'serve'; readonly config: CliConfig };

/** Every flag the bin accepts; the help test checks each one is documented. */
export const FLAGS = {
  port: { type: 'string' },
  host: { type: 'string' },
  upstream: { type: 'string' },
  'upstream-connect-timeout-ms': { type: 'string' },
  store: { type: 'string' },
  'lease-ms': { type: 'string' },
  'ttl-ms': { type: 'string' },
  'max-run-ms': { type: 'string' },
  'principal-header': { type: 'string' },
  'principal-cookie': { type: 'string', multiple: true },
  'shared-keys': { type: 'boolean' },
  recovery: { type: 'boolean' },
  'token-secret': { type: 'string', multiple: true },
  'token-secret-file': { type: 'string' },
  'token-ttl-ms': { type: 'string' },
  'token-format': { type: 'string' },
  'shutdown-grace-ms': { type: 'string' },
  'file-preallocate-bytes': { type: 'string' },
  'file-compact-after-lines': { type: 'string' },
  'file-durability': { type: 'string' },
  version: { type: 'boolean', short: 'v' },
  help: { type: 'boolean', short: 'h' },
} as const;

type FlagName = keyof typeof FLAGS;

// A longer lease or run limit would fire at once, so those flags stop at MAX_TIMER_MS.
// A bound on zeros written ahead of the log at a time; past it a typo fills the disk.
const MAX_PREALLOCATE_BYTES = 1024 * 1024 * 1024;
// RFC 9110 token: what a header name (and, RFC 6265, a cookie name) may be made of.
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Token secrets, one a line, out of the command line (which `ps` shows every user). */
export const TOKEN_SECRET_ENV = 'SUBMIT_ONCE_TOKEN_SECRET';

export const USAGE = `submit-once-verifier: an idempotency-enforcing HTTP server for testing front ends

Usage: submit-once-verifier [flags]

  --port N                  port to listen on, 0 to 65535 (0: any free port). Default 8787
  --host NAME               address to listen on. Default 127.0.0.1 (loopback only)
  --upstream URL            forward every request to this http(s) URL instead of the built-in API
                            (its path is prefixed; no user:password@, query or fragment)
  --upstream-connect-timeout-ms N
                            with --upstream: how long connecting may take, 1 to ${MAX_TIMER_MS}
                            (at most --max-run-ms); then 502 and the key is freed, as nothing
                            was sent. Default 5000
  --store SPEC              where keys and stored responses live. Default memory
                              memory          this process only, forgotten on exit
                              file:PATH       a local file, survives restarts (or file:///ABSOLUTE/PATH)
                              redis:URL       Redis, shared by several verifiers (needs: npm install ioredis)
                              postgres:URL    PostgreSQL, shared (needs: npm install pg)
  --file-preallocate-bytes N
                            with file:PATH: zeros kept ahead of the last line, so that a sync
                            flushes data only; 0 (append) to ${MAX_PREALLOCATE_BYTES}. Default 1048576
  --file-compact-after-lines N
                            with file:PATH: rewrite the file once it has this many lines and
                            more than twice the live keys; 1 or more. Default 10000
  --file-durability relaxed|strict
                            with file:PATH: strict also fdatasyncs each claim (with the others
                            of its turn) before its handler runs, so a power loss cannot lose
                            it; relaxed writes it to the page cache only. Default relaxed
  --lease-ms N              in-progress lease, 1 to ${MAX_TIMER_MS}; a claim whose process died
                            turns "outcome unknown" when it runs out. Default 10000
  --ttl-ms N                how long a completed response is kept and replayed, 1 or more. Default 86400000 (24 h)
  --max-run-ms N            longest a request keeps its claim, 1 to ${MAX_TIMER_MS}. Default 300000
  --principal-header NAME   scope keys by this trusted header's value (set by your gateway)
  --principal-cookie NAME   also hash this cookie into the default scope; repeatable
  --shared-keys             one key space for every caller (no per-caller scope)
  --recovery                run a key whose outcome is unknown again, telling the upstream
                            with Idempotency-Recovery: true
  --token-secret SECRET     token mode: accept only keys issued at GET ${TOKEN_PATH},
                            signed with this secret (32+ characters); repeat to rotate:
                            the first signs, every one verifies. Other users of the machine
                            see it in ps: prefer --token-secret-file or ${TOKEN_SECRET_ENV}
  --token-secret-file PATH  token mode, the secrets read from PATH, one a line (first signs)
  ${TOKEN_SECRET_ENV}  (environment) token mode, the secrets one a line; a flag above wins
  --token-ttl-ms N          how long a token may make its first request, 1 or more. Default 3600000 (1 h), at most --ttl-ms
  --token-format st1|st2    the version new tokens are issued in. Default st2 (claimed once whatever
                            the route); st1 while instances older than st2 still serve (they refuse st2)
  --shutdown-grace-ms N     on SIGTERM/SIGINT, how long requests in flight may finish, 0 to ${MAX_TIMER_MS};
                            those still running are then cut (their keys turn "outcome unknown").
                            A second signal cuts at once; the store then has 5 s to close. Default 5000
  -v, --version             print the version and exit
  -h, --help                print this help and exit

Keys are scoped per caller: by default by a hash of the Authorization header (and the
cookies named with --principal-cookie). --principal-header and --shared-keys replace that
and cannot be combined with each other or with --principal-cookie.

Without --upstream it serves a built-in API: POST /orders, GET /orders, GET /orders/:id,
POST /echo. With --upstream the key is forwarded as Idempotency-Key.

Endpoints of the verifier itself:
  GET    ${HEALTH_PATH}   {"ok":true,"store":…} once it is up
  GET    ${STATS_PATH}    the audit: executions, replays, conflicts… per key
  DELETE ${STATS_PATH}    resets the audit counters
  POST   ${RESET_PATH}    forgets every key, the counters and the built-in API's orders
  GET    ${TOKEN_PATH}     with --token-secret: {"token":…,"expiresAt":…,"expiresIn":…} for the caller
Another method on these paths is answered 405, never sent upstream.

CORS is on for every origin: preflights allow Idempotency-Key, Content-Type and If-Match,
and responses expose Idempotent-Replayed, Retry-After, Date, Location and ETag to the page.

Exit codes: 0 stopped by SIGINT/SIGTERM (or --help, --version); 1 runtime failure (port
in use, store unreachable or failing to close on a stop, package missing); 2 usage error
(bad flag or value).`;

/**
 * Reads the command line. Throws `UsageError` with a message that names the flag.
 *
 * @example parseCli(['--port', '0', '--store', 'file:./keys.jsonl'])
 */
export function parseCli(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): CliCommand {
  // Non-strict, with tokens: Node's own errors for unknown or valueless flags are long
  // and talk about positionals; these checks say it in the bin's words.
  const { tokens } = parseArgs({ args: [...argv], options: FLAGS, strict: false, allowPositionals: true, tokens: true });
  const strings = new Map<FlagName, string[]>();
  const booleans = new Set<FlagName>();
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    if (token === undefined || token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      throw new UsageError(`unexpected argument ${JSON.stringify(token.value)}: every value goes after its flag, e.g. --port 8787`);
    }
    const name = token.name as FlagName;
    const spec = Object.hasOwn(FLAGS, name) ? FLAGS[name] : undefined;
    // A short flag other than -h/-v comes back under its letter, which is not a known name.
    if (spec === undefined || (token.rawName.length === 2 && !('short' in spec))) {
      throw new UsageError(unknownFlag(argv[token.index] ?? token.rawName, token.rawName));
    }
    const flag = `--${name}`;
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${flag} takes no value, got ${JSON.stringify(token.value)}`);
      booleans.add(name);
      continue;
    }
    // parseArgs takes the next word as the value even when it is the next flag.
    if (token.value === undefined || (!token.inlineValue && token.value.startsWith('--'))) {
      throw new UsageError(`${flag} needs a value`);
    }
    strings.set(name, [...(strings.get(name) ?? []), token.value]);
  }
  if (booleans.has('help')) return { command: 'help' };
  if (booleans.has('version')) return { command: 'version' };

  // A repeated single-value flag: the last one wins, as in most CLIs.
  const last = (name: FlagName): string | undefined => strings.get(name)?.at(-1);
  const principalHeader = last('principal-header');
  const principalCookies = strings.get('principal-cookie');
  const sharedKeys = booleans.has('shared-keys');
  if (sharedKeys && (principalHeader !== undefined || principalCookies !== undefined)) {
    throw new UsageError('--shared-keys cannot be combined with --principal-header or --principal-cookie');
  }
  // The cookies only feed the default credential hash, which a principal header replaces.
  if (principalHeader !== undefined && principalCookies !== undefined) {
    throw new UsageError('--principal-cookie applies to the default scope; it cannot be combined with --principal-header');
  }
  if (principalHeader !== undefined) checkToken('--principal-header', principalHeader, 'a header name');
  for (const cookie of principalCookies ?? []) checkToken('--principal-cookie', cookie, 'a cookie name');

  const host = last('host') ?? '127.0.0.1';
  if (host === '') throw new UsageError('--host needs a host name or address');
  const leaseMs = last('lease-ms');
  const ttlMs = last('ttl-ms');
  const maxRunMs = last('max-run-ms');
  const tokenSecrets = tokenSecretsOf(strings.get('token-secret'), last('token-secret-file'), env[TOKEN_SECRET_ENV]);
  const tokenTtlMs = last('token-ttl-ms');
  if (tokenTtlMs !== undefined && tokenSecrets === undefined) throw new UsageError(`--token-ttl-ms needs a token secret (--token-secret, --token-secret-file or ${TOKEN_SECRET_ENV})`);
  const tokenFormat = last('token-format');
  if (tokenFormat !== undefined && tokenSecrets === undefined) throw new UsageError(`--token-format needs a token secret (--token-secret, --token-secret-file or ${TOKEN_SECRET_ENV})`);
  if (tokenFormat !== undefined && tokenFormat !== 'st1' && tokenFormat !== 'st2') throw new UsageError(`--token-format must be st1 or st2, got ${JSON.stringify(tokenFormat)}`);
  const upstreamConnectTimeoutMs = last('upstream-connect-timeout-ms');
  if (upstreamConnectTimeoutMs !== undefined && last('upstream') === undefined) throw new UsageError('--upstream-connect-timeout-ms needs --upstream');
  const store = storeSpec(last('store') ?? 'memory');
  const preallocateBytes = last('file-preallocate-bytes');
  const compactAfterLines = last('file-compact-after-lines');
  const durability = last('file-durability');
  for (const [flag, value] of [['--file-preallocate-bytes', preallocateBytes], ['--file-compact-after-lines', compactAfterLines], ['--file-durability', durability]] as const) {
    if (value !== undefined && !store.startsWith('file:')) throw new UsageError(`${flag} needs --store file:PATH`);
  }
  if (durability !== undefined && durability !== 'relaxed' && durability !== 'strict') throw new UsageError(`--file-durability must be relaxed or strict, got ${JSON.stringify(durability)}`);
  return {
    command: 'serve',
    config: {
      port: integer('--port', last('port') ?? '8787', 0, 65_535),
      host,
      upstream: upstreamUrl(last('upstream')),
      store,
      leaseMs: leaseMs === undefined ? undefined : integer('--lease-ms', leaseMs, 1, MAX_TIMER_MS),
      ttlMs: ttlMs === undefined ? undefined : integer('--ttl-ms', ttlMs, 1, Number.MAX_SAFE_INTEGER),
      maxRunMs: maxRunMs === undefined ? undefined : integer('--max-run-ms', maxRunMs, 1, MAX_TIMER_MS),
      principalHeader,
      principalCookies,
      sharedKeys,
      recovery: booleans.has('recovery'),
      tokenSecrets,
      tokenTtlMs: tokenTtlOf(tokenTtlMs, tokenSecrets, ttlMs),
      tokenFormat,
      upstreamConnectTimeoutMs: connectTimeoutOf(upstreamConnectTimeoutMs, maxRunMs),
      shutdownGraceMs: integer('--shutdown-grace-ms', last('shutdown-grace-ms') ?? '5000', 0, MAX_TIMER_MS),
      fileStore: {
        ...(preallocateBytes !== undefined ? { preallocateBytes: integer('--file-preallocate-bytes', preallocateBytes, 0, MAX_PREALLOCATE_BYTES) } : {}),
        ...(compactAfterLines !== undefined ? { compactAfterLines: integer('--file-compact-after-lines', compactAfterLines, 1, Number.MAX_SAFE_INTEGER) } : {}),
        ...(durability !== undefined ? { durability } : {}),
      },
    },
  };
}

/**
 * --upstream-connect-timeout-ms, checked against --max-run-ms: one over it was cut to it
 * without a word (the default, 5000, still gives way to a shorter run limit).
 */
function connectTimeoutOf(flag: string | undefined, maxRunFlag: string | undefined): number | undefined {
  if (flag === undefined) return undefined;
  const connect = integer('--upstream-connect-timeout-ms', flag, 1, MAX_TIMER_MS);
  const maxRun = maxRunFlag === undefined ? DEFAULT_MAX_RUN_MS : integer('--max-run-ms', maxRunFlag, 1, MAX_TIMER_MS);
  if (connect > maxRun) {
    throw new UsageError(`--upstream-connect-timeout-ms (${connect}) must be at most --max-run-ms (${maxRun}${maxRunFlag === undefined ? ', the default' : ''}): connecting is part of the run`);
  }
  return connect;
}

/** --token-ttl-ms, checked against --ttl-ms: a token outliving its stored answer would run again when reused. */
function tokenTtlOf(flag: string | undefined, secrets: readonly string[] | undefined, ttlFlag: string | undefined): number | undefined {
  const tokenTtl = flag === undefined ? undefined : integer('--token-ttl-ms', flag, 1, Number.MAX_SAFE_INTEGER);
  if (secrets === undefined) return tokenTtl;
  const lives = tokenTtl ?? DEFAULT_TOKEN_TTL;
  const kept = ttlFlag === undefined ? DEFAULT_RETENTION_MS : integer('--ttl-ms', ttlFlag, 1, Number.MAX_SAFE_INTEGER);
  if (lives > kept) {
    throw new UsageError(`--token-ttl-ms (${lives}${flag === undefined ? ', the default' : ''}) must be at most --ttl-ms (${kept}): a token reused after its answer is dropped would run again`);
  }
  return tokenTtl;
}

/** The token secrets: the flags', else the file's, else the environment's; undefined when none is given. */
function tokenSecretsOf(flags: readonly string[] | undefined, file: string | undefined, fromEnv: string | undefined): readonly string[] | undefined {
  if (flags !== undefined && file !== undefined) throw new UsageError('--token-secret and --token-secret-file cannot be combined');
  if (flags !== undefined) {
    for (const secret of flags) {
      if (secret.length < MIN_SECRET_LENGTH) throw new UsageError(`--token-secret must be at least ${MIN_SECRET_LENGTH} characters, got ${secret.length}`);
    }
    return flags;
  }
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : (error as Error).message;
      throw new UsageError(`--token-secret-file cannot read ${file}: ${reason}`);
    }
    return secretLines(`--token-secret-file ${file}`, text, '');
  }
  if (fromEnv === undefined) return undefined;
  // Set but empty is refused: read as "no token mode", the verifier would accept any key.
  return secretLines(TOKEN_SECRET_ENV, fromEnv, ' (unset it to turn token mode off)');
}

/** One secret a line (blank lines and the spaces around a secret skipped); never quotes a secret in a message. */
function secretLines(source: string, text: string, whenEmpty: string): readonly string[] {
  const secrets: string[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const secret = line.trim();
    if (secret === '') continue;
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new UsageError(`${source}: the secret on line ${i + 1} must be at least ${MIN_SECRET_LENGTH} characters, got ${secret.length}`);
    }
    secrets.push(secret);
  }
  if (secrets.length === 0) throw new UsageError(`${source} holds no secret${whenEmpty}`);
  return secrets;
}

/**
 * Node reads `-port` as the short flags -p -o -r -t: the word as typed is named instead,
 * with the long flag it spells, if any.
 */
function unknownFlag(word: string, rawName: string): string {
  if (word.startsWith('--') || word.length <= 2) return `unknown flag ${rawName}`;
  const typed = word.split('=')[0] ?? word;
  const meant = typed.slice(1);
  return `unknown flag ${typed}${Object.hasOwn(FLAGS, meant) ? ` (did you mean --${meant}?)` : ''}`;
}

function integer(flag: string, value: string, min: number, max: number): number {
  // Digits only: Number() would take "", "0x10", "1e3" and " 5" too.
  const n = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw new UsageError(`${flag} must be an integer ${range}, got ${shown(value)}`);
  }
  return n;
}

function upstreamUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new UsageError(`--upstream needs an http(s) URL such as http://127.0.0.1:3000, got ${shown(value)}`);
  }
  // The proxy sends each request to the URL's origin and path: anything else would be dropped.
  if (url.username !== '' || url.password !== '') {
    if (url.password !== '') url.password = '***';
    throw new UsageError(`--upstream cannot carry credentials (user:password@); the caller's Authorization header is forwarded, got ${JSON.stringify(url.href)}`);
  }
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) {
    throw new UsageError(`--upstream cannot have a query or a fragment (each request's own query is forwarded), got ${shown(value)}`);
  }
  return value;
}

/** Checks the spec's shape only; connecting (and finding ioredis or pg) is a runtime matter. */
function storeSpec(spec: string): string {
  if (spec === 'memory') return spec;
  const scheme = /^(file|redis|rediss|postgres|postgresql):/.exec(spec)?.[1];
  if (scheme === undefined) {
    throw new UsageError(`--store must be memory, file:PATH, redis:URL or postgres:URL, got ${shown(spec)}`);
  }
  if (scheme === 'file') {
    try {
      filePathOf(spec);
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
  } else if (spec.length === scheme.length + 1) {
    throw new UsageError(`--store ${scheme}: needs a URL, e.g. ${scheme}://127.0.0.1`);
  }
  return spec;
}

function checkToken(flag: string, value: string, what: string): void {
  if (!TOKEN.test(value)) {
    throw new UsageError(`${flag} must be ${what} (letters, digits and !#$%&'*+-.^_\`|~), got ${shown(value)}`);
  }
}

/** Numbers as typed (the message reads "got 99999"); anything else quoted, so "" and spaces show. */
function shown(value: string): string {
  return /^-?\d+(\.\d+)?$/.test(value) ? value : JSON.stringify(value);
}

/**
 * The package's version, from the package.json above this file: `src/server/` when run
 * from source, `dist/` once built, so it walks up rather than using a fixed path.
 */
export function packageVersion(from: string = import.meta.url): string {
  let dir = dirname(fileURLToPath(from));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'submit-once' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // No package.json here (or not ours): look one level up.
    }
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the package.json of submit-once');
    dir = parent;
  }
}
