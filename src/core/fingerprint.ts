/**
 * The canonical fingerprint of an intent: method, normalised URL, canonical body and
 * scope. Equal intents give equal fingerprints whatever the JSON key order or query
 * order; the fingerprint finds the intent's key in the local store.
 */
import { canonicalBodyText } from '../protocol/canonical-body.js';
import { canonicalForm } from '../protocol/canonical-form.js';
import { canonicalJson } from '../protocol/canonical-json.js';
import { InvalidRequestError, UnreplayableBodyError } from './errors.js';
import { byName, isBlob, isFormData, ReadBody, spelled, UnreadBlobs } from './fingerprint-values.js';
import { hash64 } from './hash.js';

/** What the user means to do, independent of the transport that sends it. */
export interface Intent {
  method: string;
  url: string | URL;
  /** Any JSON-able value (Maps, Sets, files and bytes in it by their content), a string, or a fetch body (Blob, FormData, URLSearchParams, bytes). */
  body?: unknown;
  /** Separates the keys of different users (or tenants) on one device. */
  scope?: string | undefined;
  /**
   * The version the request is conditional on (its `If-Match`): an update over another
   * version is another intent, so a save after a 412 is not answered with that 412 again.
   */
  ifMatch?: string | undefined;
}

const VERSION = 'v1';

/**
 * The fingerprint of an intent or a `Request`. Async only because Blob and Request
 * bodies are read asynchronously; plain bodies are hashed synchronously.
 *
 * @example
 * await fingerprint({ method: 'POST', url: '/orders', body: { sku: 'A', qty: 1 } })
 */
export async function fingerprint(intent: Intent | Request): Promise<string> {
  if (isRequest(intent)) {
    const body = hasBody(intent.method) ? new Uint8Array(await intent.clone().arrayBuffer()) : undefined;
    return fingerprintOf({ method: intent.method, url: intent.url, body, ifMatch: intent.headers.get('if-match') ?? undefined });
  }
  return fingerprintSoon(intent);
}

/**
 * `fingerprint()` of an intent, a string where the body needs no reading (most): no async
 * function, no hop on the click's path. A body that is or holds a Blob is read first.
 */
export function fingerprintSoon(intent: Intent, scope = intent.scope): string | Promise<string> {
  const { body } = intent;
  if (readsBody(body)) return readBlobs(body).then((read) => fingerprintOf({ ...intent, body: read }, scope));
  try {
    return fingerprintOf(intent, scope);
  } catch (error) {
    // A Blob inside the body (`{ photo: File }`), found only where JSON wrote `{}` for it.
    if (!(error instanceof UnreadBlobs)) throw error;
    return Promise.all([...new Set(error.blobs)].map(async (blob) => [blob, new Uint8Array(await blob.arrayBuffer())] as const)).then((read) =>
      fingerprintOf({ ...intent, body: new ReadBody(body, new Map(read)) }, scope),
    );
  }
}

/** Whether the body is a Blob or a FormData with files, read before `fingerprintOf` takes it. */
function readsBody(body: unknown): boolean {
  return typeof body === 'object' && body !== null && (isBlob(body) || isFormDataWithBlobs(body));
}

/** The synchronous core of `fingerprint()`, for bodies that need no reading; `scope` in place of the intent's (no copy of it). */
export function fingerprintOf(intent: Intent, scope = intent.scope): string {
  const { method, body, ifMatch } = intent;
  if (typeof method !== 'string' || method.trim() === '') {
    throw new InvalidRequestError('the method must be a non-empty string');
  }
  const url = normaliseUrl(intent.url);
  if (lastPrint?.[0] === method && lastPrint[1] === url && lastPrint[2] === scope && lastPrint[3] === ifMatch && lastPrint[4] === body) return lastPrint[5];
  // A condition goes on the first line, which only we write (a header value has no line
  // break), so no scope or body can spell it; without one, fingerprints are as before.
  const head = ifMatch === undefined ? VERSION : `${VERSION} if-match ${ifMatch}`;
  const canonical = canonicalBody(body);
  // A body with bytes (a file) is hashed in parts after the fields' text, not copied into it.
  const text = [head, method.trim().toUpperCase(), url, scope ?? '', typeof canonical === 'string' ? canonical : ''].join('\n');
  const printed = `${VERSION}:${hash64(typeof canonical === 'string' ? text : [text, ...canonical])}`;
  if (typeof body === 'string') lastPrint = [method, url, scope, ifMatch, body, printed];
  return printed;
}

/**
 * The last intent with a text body and its fingerprint: a click fingerprints the intent its
 * `prepare()` (on pointerdown) just did, and the same method, URL, scope, `If-Match` and
 * text give the same fingerprint, without joining and hashing again.
 */
let lastPrint: [method: string, url: string, scope: string | undefined, ifMatch: string | undefined, body: string, printed: string] | undefined;

/**
 * The last body text canonicalised (below): a click fingerprints again the intent its
 * `prepare()` (on pointerdown) just did, and reading the body again (parse, canonical JSON)
 * cost the cold click about 30 µs (docs/client-cost.md). Equal text, equal result; a refused
 * body is not kept.
 */
let lastBody: string | undefined;
let lastForm: boolean | undefined;
let lastBodyCanonical = '';

/**
 * The last URL normalised: from which page (the `location` object) and base, to what, and
 * whether the base's path and query played no part (a path from the root, an absolute
 * URL). Most pages post to one URL.
 */
let last: [input: string, page: unknown, base: string, href: string, pathFree: boolean] | undefined;

/** Origin and path as given, the query in canonical form order (`canonicalForm`), fragment dropped. */
export function normaliseUrl(url: string | URL): string {
  // `String(undefined)` is the relative URL "undefined": every intent without one was one
  // intent. A URL read by its `href`, not `instanceof`: an iframe's URL is of another realm.
  if (typeof url !== 'string' && typeof (url as { href?: unknown } | null)?.href !== 'string') throw new InvalidRequestError(`the URL is a ${typeof url}`);
  const input = String(url);
  const page = fixedPage ?? (globalThis as { location?: unknown }).location;
  let base: string | undefined;
  // A page keeps its origin for its life, so a URL its path played no part in is not
  // resolved again, and the page's URL (a new string on each read, ~30 µs on a cold
  // click) is not read: a router's navigation changes only the path.
  if (last?.[0] === input && ((last[1] === page && last[4]) || last[2] === (base = baseUrl()))) return last[3];
  base ??= baseUrl();
  let parsed: URL;
  try {
    parsed = new URL(input, base);
  } catch (cause) {
    throw new InvalidRequestError(`cannot parse the URL ${JSON.stringify(input)}`, { cause });
  }
  // Asked of the URL parser, not of the input's spelling (`/\x` and `/\t/x` are other hosts).
  const pathFree = new URL(input, new URL('/-/-?-', base)).href === parsed.href;
  // Without a query or a fragment (most POSTs) there is nothing to rewrite: a setter
  // re-serialises the URL, and the query's canonical form makes two URLSearchParams.
  if (/[?#]/.test(parsed.href)) {
    parsed.hash = '';
    parsed.search = canonicalForm(parsed.searchParams);
  }
  last = [input, page, base, parsed.href, pathFree];
  if (page && !Object.getOwnPropertyDescriptor(globalThis, 'location')?.configurable) fixedPage = page;
  return last[3];
}

/**
 * A window's `location`, once read: it is unforgeable (a non-configurable own property of
 * the window) and the same object for the window's life, and reading it cost a cold click
 * about 10 µs, as much as the rest of the URL's memo hit (docs/client-cost.md). Where it
 * can be replaced (a test's stub, another runtime's global) it is read on every call.
 */
let fixedPage: unknown;

function baseUrl(): string {
  // Read once: each read of `location.href` makes a new string.
  const href = (globalThis as { location?: { href?: unknown } }).location?.href;
  return typeof href === 'string' && /^https?:/.test(href) ? href : 'http://localhost/';
}

/** Bytes read from Blobs, standing in for them in the canonical body. */
class BlobBytes {
  constructor(
    readonly type: string,
    readonly bytes: Uint8Array,
    readonly name?: string,
  ) {}
}

async function readBlobs(body: unknown): Promise<unknown> {
  if (isBlob(body)) return new BlobBytes(body.type, new Uint8Array(await body.arrayBuffer()));
  const entries: [string, unknown][] = [];
  for (const [name, value] of (body as FormData).entries()) {
    entries.push([
      name,
      typeof value === 'string'
        ? value
        : new BlobBytes(value.type, new Uint8Array(await value.arrayBuffer()), (value as File).name),
    ]);
  }
  return new FormEntries(entries);
}

class FormEntries {
  constructor(readonly entries: [string, unknown][]) {}
}

/**
 * Canonical body text, or its parts where it holds bytes (a file): hashed as their
 * concatenation, each byte the Latin-1 character of its value.
 */
type Printed = string | (string | Uint8Array)[];

function canonicalBody(body: unknown): Printed {
  if (body === undefined || body === null) return '-';
  if (typeof body === 'string') return canonicalText(body);
  if (body instanceof URLSearchParams) return canonicalText(body.toString(), true);
  if (body instanceof FormEntries) return ['multipart:', ...canonicalEntries(body.entries)];
  if (isFormData(body)) return `multipart:${canonicalEntries([...body.entries()]).join('')}`;
  if (body instanceof BlobBytes) return ['blob:', ...blobParts(body)];
  if (body instanceof ArrayBuffer) return canonicalBytes(new Uint8Array(body));
  if (ArrayBuffer.isView(body)) return canonicalBytes(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
  // A web stream, or a Node stream handed to axios: read once, so never safe to resend.
  if (isReadableStream(body) || typeof (body as { pipe?: unknown }).pipe === 'function') throw new UnreplayableBodyError();
  if (isBlob(body)) throw new InvalidRequestError('a Blob body must be read first: use fingerprint(), not fingerprintOf()');
  const read = body instanceof ReadBody ? body : undefined;
  const value = read ? read.value : body;
  // The same `json:` kind as canonicalBodyText gives the JSON text of this value.
  const text = orInvalid(() => canonicalJson(value));
  // JSON writes `{}` for a Map, a File, a class instance with private state...: only a
  // text with one is walked for them, so a plain body costs and prints what it did.
  if (!text.includes('{}')) return `json:${text}`;
  const values = orInvalid(() => spelled(value, read?.bytes));
  return values === undefined ? `json:${text}` : `values:${orInvalid(() => canonicalJson(values))}`;
}

/** Runs a protocol canonicaliser; what it refuses (nested too deep, a cycle) is an invalid request. */
function orInvalid<T>(canonicalise: () => T): T {
  try {
    return canonicalise();
  } catch (cause) {
    if (cause instanceof InvalidRequestError) throw cause;
    throw new InvalidRequestError(`body ${(cause as Error).message}`, { cause });
  }
}

/** Body text, read as the verifier reads it (`canonicalBodyText`): key order and whitespace do not matter. */
function canonicalText(text: string, form?: boolean): string {
  if (text !== lastBody || form !== lastForm) {
    lastBodyCanonical = orInvalid(() => canonicalBodyText(text, form));
    lastBody = text;
    lastForm = form;
  }
  return lastBodyCanonical;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * UTF-8 bytes are the text they encode, as on the wire: JSON in a `Request` body is JSON
 * to the verifier, so it is canonicalised here too. Other bytes are compared as they are.
 */
function canonicalBytes(bytes: Uint8Array): Printed {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return ['bytes:', bytes];
  }
  return canonicalText(text);
}

function canonicalEntries(entries: [string, unknown][]): (string | Uint8Array)[] {
  // Sort by name only (stable), so repeated names keep their meaningful order.
  const sorted = [...entries].sort(byName);
  return sorted.flatMap(([name, value], i) => [
    `${i ? '&' : ''}${encodeURIComponent(name)}=`,
    ...(value instanceof BlobBytes ? blobParts(value) : [encodeURIComponent(String(value))]),
  ]);
}

function blobParts(blob: BlobBytes): [string, Uint8Array] {
  return [`${blob.name ?? ''};${blob.type};`, blob.bytes];
}

function hasBody(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD';
}

function isRequest(value: unknown): value is Request {
  return typeof Request !== 'undefined' && value instanceof Request;
}

function isFormDataWithBlobs(value: unknown): boolean {
  if (!isFormData(value)) return false;
  for (const [, item] of value.entries()) if (typeof item !== 'string') return true;
  return false;
}

function isReadableStream(value: unknown): boolean {
  return typeof ReadableStream !== 'undefined' && value instanceof ReadableStream;
}
