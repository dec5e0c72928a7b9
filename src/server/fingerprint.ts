import { createHash } from 'node:crypto';

/** Deepest JSON nesting accepted in a body (the protocol's limit; arrays and objects count alike). */
export const MAX_JSON_DEPTH = 64;

/** A JSON body nested deeper than `MAX_JSON_DEPTH`: refused before any recursion can overflow the stack. */
export class JsonTooDeepError extends Error {
  override readonly name = 'JsonTooDeepError';
  readonly code = 'body-too-deep';
  constructor(readonly limit: number = MAX_JSON_DEPTH) {
    super(`JSON nested deeper than ${limit} levels`);
  }
}

export function isJsonTooDeepError(error: unknown): error is JsonTooDeepError {
  return error instanceof Error && (error as { code?: unknown }).code === 'body-too-deep';
}

/** What a payload fingerprint covers: the request line and the canonical body. */
export interface FingerprintInput {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  /** Raw query string without `?`; its parameters are sorted so their order does not matter. */
  readonly query: string;
  /** The body, already parsed by a body parser (Express) or the raw bytes. */
  readonly body: unknown;
}

/**
 * sha256 over method, path, sorted query and the canonical body. JSON bodies are hashed in
 * canonical form (sorted keys) so a client re-serialising the same object in another key
 * order is not flagged as a different payload; anything else is hashed as bytes.
 *
 * @throws JsonTooDeepError when a JSON body nests deeper than `MAX_JSON_DEPTH`.
 */
export function payloadFingerprint(input: FingerprintInput): string {
  const hash = createHash('sha256');
  hash.update(input.method.toUpperCase());
  hash.update('\n');
  hash.update(input.path);
  hash.update('\n');
  hash.update(sortedQuery(input.query));
  hash.update('\n');
  const body = canonicalBody(input.body);
  hash.update(body.kind);
  hash.update('\n');
  hash.update(body.bytes);
  return hash.digest('base64url');
}

function sortedQuery(query: string): string {
  if (query === '') return '';
  const params = [...new URLSearchParams(query)];
  params.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return new URLSearchParams(params).toString();
}

function canonicalBody(body: unknown): { kind: string; bytes: string | Uint8Array } {
  if (body === undefined || body === null) return { kind: 'empty', bytes: '' };
  if (Buffer.isBuffer(body) || body instanceof Uint8Array) {
    if (body.length === 0) return { kind: 'empty', bytes: '' };
    const json = tryParseJson(body);
    return json === undefined ? { kind: 'bytes', bytes: body } : { kind: 'json', bytes: canonicalJson(json) };
  }
  if (typeof body === 'string') {
    if (body === '') return { kind: 'empty', bytes: '' };
    const json = tryParseJson(Buffer.from(body));
    return json === undefined ? { kind: 'bytes', bytes: body } : { kind: 'json', bytes: canonicalJson(json) };
  }
  // An object from a body parser: its canonical JSON equals that of the raw JSON it came from.
  return { kind: 'json', bytes: canonicalJson(body) };
}

function tryParseJson(bytes: Uint8Array): unknown {
  const first = firstNonSpace(bytes);
  // Only objects, arrays and strings are worth parsing; cheap rejection of form data etc.
  if (first !== 0x7b && first !== 0x5b && first !== 0x22) return undefined;
  try {
    return JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

function firstNonSpace(bytes: Uint8Array): number | undefined {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  return undefined;
}

/**
 * Throws `JsonTooDeepError` when `value` nests objects or arrays deeper than `limit`.
 * Iterative (an explicit stack), so hostile input cannot overflow the call stack here.
 */
export function assertJsonDepth(value: unknown, limit: number = MAX_JSON_DEPTH): void {
  const stack: Array<[unknown, number]> = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop() as [unknown, number];
    if (current === null || typeof current !== 'object' || Buffer.isBuffer(current)) continue;
    if (depth + 1 > limit) throw new JsonTooDeepError(limit);
    for (const child of Array.isArray(current) ? current : Object.values(current as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
}

/**
 * JSON with object keys sorted at every depth. Recursive, so the depth is checked first:
 * after `assertJsonDepth` the recursion is at most `MAX_JSON_DEPTH` deep.
 */
export function canonicalJson(value: unknown): string {
  assertJsonDepth(value);
  return canonical(value);
}

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonical(item)).join(',')}]`;
  if (Buffer.isBuffer(value)) return JSON.stringify(value.toString('base64'));
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}
