/**
 * Bodies holding values JSON cannot spell. JSON writes `{}` for any object without
 * enumerable own members: a Map, a Set, a File, an ArrayBuffer, a URLSearchParams, a
 * RegExp, a class instance whose state is private. Two photos in `{ photo, caption }`
 * were one intent. Here such values are spelled out by content, as tagged objects that no
 * plain body's JSON can spell (`spelled`); those the fingerprint cannot read are refused.
 */
import { canonicalForm } from '../protocol/canonical-form.js';
import { canonicalJson, MAX_JSON_DEPTH } from '../protocol/canonical-json.js';
import { PayloadTooDeepError } from '../protocol/payload-too-deep-error.js';
import { InvalidRequestError } from './errors.js';
import { hash64 } from './hash.js';

/**
 * A tagged object's one member name. A plain object's member name that starts with it is
 * written with it doubled, so no plain object reads as a tagged one.
 */
const TAG = '\u0000';

/** Thrown where the body holds Blobs not read yet: `fingerprint()` reads `blobs`, then prints the body as `ReadBody`. */
export class UnreadBlobs extends InvalidRequestError {
  constructor(readonly blobs: Blob[]) {
    super('a Blob body must be read first: use fingerprint(), not fingerprintOf()');
  }
}

/** A body whose Blobs have been read, with their bytes. */
export class ReadBody {
  constructor(
    readonly value: unknown,
    readonly bytes: ReadonlyMap<Blob, Uint8Array>,
  ) {}
}

/**
 * The body with every value JSON writes as `{}` though it has content spelled out, or
 * undefined where there is none (the body's JSON is then its canonical text, as it always
 * was, so plain bodies keep their fingerprints). Map and Set are read as unordered, as an
 * object's members are: a Map's entries sorted by the canonical text of their key, a
 * Set's elements by theirs. Bytes (a Blob's with its type and name, an ArrayBuffer's, a
 * DataView's) stand as their length and hash. Any other object JSON writes as `{}` (a
 * RegExp, a Promise, a class instance with private state) is refused: its content is not
 * to be seen, and two different ones would be one intent.
 */
export function spelled(body: unknown, bytes?: ReadonlyMap<Blob, Uint8Array>): unknown {
  // Most bodies with a `{}` in their text hold a plain empty object: looked for first,
  // without building anything.
  if (!opaqueIn(body, '', 0)) return undefined;
  const unread: Blob[] = [];
  const tagged = (kind: string, content: object): object => ({ [TAG]: kind, ...content });
  const read = (view: Uint8Array) => ({ size: view.length, hash: hash64([view]) });
  const blob = (value: Blob): object => {
    const content = bytes?.get(value);
    if (!content) unread.push(value);
    return tagged('blob', { name: (value as Partial<File>).name ?? '', type: value.type, ...(content && read(content)) });
  };
  const sorted = <T>(items: T[], by: (item: T) => unknown): T[] =>
    items
      .map((item) => [canonicalJson(by(item)), item] as const)
      .sort(byName)
      .map((pair) => pair[1]);

  const walk = (value: unknown, key: string, path: string, depth: number): unknown => {
    value = jsonValue(value, key);
    if (typeof value !== 'object' || value === null) return value;
    // Counted here too: a Map's or Set's content, which `canonicalJson` never saw, may hold a cycle.
    if (depth > MAX_JSON_DEPTH) throw new PayloadTooDeepError(MAX_JSON_DEPTH);
    const inner = (item: unknown, at: string, name = ''): unknown => walk(item, name, path + at, depth + 1);
    if (Array.isArray(value)) return value.map((item, i) => inner(item, `[${i}]`, String(i)));
    // A file input's `files`, also when none is chosen (no members then, yet no secret).
    if (typeof FileList !== 'undefined' && value instanceof FileList) return tagged('files', { files: Array.from(value, blob) });
    const names = Object.keys(value);
    // What JSON spells, it spells: members, or a plain empty object.
    if (names.length || isPlain(value)) {
      // No prototype, so a member named `__proto__` is a member.
      const out: Record<string, unknown> = Object.create(null);
      for (const name of names) out[name.startsWith(TAG) ? TAG + name : name] = inner((value as Record<string, unknown>)[name], `.${name}`, name);
      return out;
    }
    if (value instanceof Map) return tagged('map', { entries: sorted([...value].map(([k, v], i) => [inner(k, `.keys()[${i}]`), inner(v, `.values()[${i}]`)]), (entry) => entry[0]) });
    if (value instanceof Set) return tagged('set', { values: sorted([...value].map((item, i) => inner(item, `.values()[${i}]`)), (item) => item) });
    if (isBlob(value)) return blob(value);
    if (value instanceof ArrayBuffer) return tagged('bytes', read(new Uint8Array(value)));
    if (ArrayBuffer.isView(value)) return tagged('bytes', read(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)));
    if (value instanceof URLSearchParams) return tagged('query', { text: canonicalForm(value) });
    if (isFormData(value)) {
      // As a FormData body: by field name, repeated names in their order (a stable sort).
      return tagged('form', { fields: [...value].sort(byName).map(([name, item]) => [name, typeof item === 'string' ? item : blob(item)]) });
    }
    throw new InvalidRequestError(
      `${path} (${String((value as { constructor?: { name?: unknown } }).constructor?.name)}) has nothing JSON can write (it writes {}): give an explicit \`intent\`, e.g. a function mapping the input to JSON`,
    );
  };

  const out = walk(body, '', 'body', 0);
  if (unread.length) throw new UnreadBlobs(unread);
  return out;
}

export function isBlob(value: unknown): value is Blob {
  return typeof Blob !== 'undefined' && value instanceof Blob;
}

export function isFormData(value: unknown): value is FormData {
  return typeof FormData !== 'undefined' && value instanceof FormData;
}

/** Pairs by their first item, a name (a stable sort: repeated names keep their order). */
export function byName(a: readonly [string, unknown], b: readonly [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** Whether JSON writes `{}` somewhere in the value for an object that is not a plain empty one. */
function opaqueIn(value: unknown, key: string | number, depth: number): boolean {
  value = jsonValue(value, key);
  if (typeof value !== 'object' || value === null || depth > MAX_JSON_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (opaqueIn(value[i], i, depth + 1)) return true;
    return false;
  }
  const names = Object.keys(value);
  for (const name of names) if (opaqueIn((value as Record<string, unknown>)[name], name, depth + 1)) return true;
  return !names.length && !isPlain(value);
}

/** The value JSON writes, as `canonicalJson` reads it: through `toJSON(key)`, boxed primitives unboxed. */
function jsonValue(value: unknown, key: string | number): unknown {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  if (typeof toJSON === 'function') value = (toJSON as (key: string) => unknown).call(value, String(key));
  return value instanceof Number || value instanceof String || value instanceof Boolean ? value.valueOf() : value;
}

/** An object literal's, `Object.create(null)`'s, or one of another realm (an iframe's): no class between it and the root. */
function isPlain(value: object): boolean {
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === null || Object.getPrototypeOf(proto) === null;
}
