/**
 * The verifier's payload fingerprint: which requests with one key are one payload. The
 * rules are the protocol's (the client finds its key by the same ones): the query in
 * `canonicalForm` order, the body through `canonicalBodyText` (a urlencoded form with its
 * fields sorted, JSON in canonical form, other text as it is), a parsed body through
 * `canonicalJson` (`canonicalBodyJson`). Only the hashing is the server's own, and so is a
 * multipart/form-data body compared by its parts (`multipart.ts`): the client sends its
 * own retries with one boundary, other clients do not.
 */
import { isUtf8 } from 'node:buffer';
import { createHash, hash, type Hash } from 'node:crypto';
import { canonicalBodyText, canonicalForm, isFormContentType } from '../protocol/index.js';
import { canonicalBodyJson } from './canonical-body-json.js';
import { decodesAsUtf8 } from './form-bytes.js';
import { multipartBoundary, multipartParts } from './multipart.js';
import { repeatsNames } from './repeated-names.js';
import type { UploadedFileDigest } from './uploaded-files.js';

/** What a payload fingerprint covers: the request line and the canonical body. */
export interface FingerprintInput {
  readonly method: string;
  /** Path without the query. */
  readonly path: string;
  /** Raw query string without `?`; its parameters are sorted so their order does not matter. */
  readonly query: string;
  /** The raw bytes or text, or what a body parser (Express) made of them. */
  readonly body: unknown;
  /** The request's `Content-Type`: a urlencoded form is compared as a form. */
  readonly contentType?: string | undefined;
  /**
   * The files a multipart parser before the middleware took out of a parsed `body`
   * (multer's `req.file(s)`, `uploaded-files.ts`), in its order.
   */
  readonly files?: readonly UploadedFileDigest[] | undefined;
}

/**
 * sha256 over method, path, canonical query and canonical body, in the framing earlier
 * versions used (`kind` line, then the canonical bytes), so a fingerprint a durable store
 * kept from before still matches its retry: JSON is `json`, other text and bytes are
 * `bytes` (the text's UTF-8 is its bytes), an empty body `empty`; forms are new, `form`,
 * and so are multipart/form-data bodies framed by their boundary, `multipart` (one that
 * is not is `bytes`, as before); a parsed multipart body with files, `json+files`.
 *
 * @throws PayloadTooDeepError when a JSON body nests deeper than `MAX_JSON_DEPTH`.
 */
export function payloadFingerprint(input: FingerprintInput): string {
  const body = withFiles(canonicalBody(input.body, input.contentType), input.files);
  // Most requests have no query: URLSearchParams made twice for nothing cost more than the hash.
  const head = `${input.method.toUpperCase()}\n${input.path}\n${input.query === '' ? '' : canonicalQuery(input.query)}\n${body.kind}\n`;
  // One-shot hashing of one string (its UTF-8, as `update` would hash the two parts) is
  // several times cheaper than a Hash object for a small payload.
  if (typeof body.bytes === 'string') return hash('sha256', head + body.bytes, 'base64url');
  const sha = createHash('sha256').update(head);
  if (body.kind === 'multipart') hashParts(sha, body.bytes, body.parts);
  else sha.update(body.bytes);
  return sha.digest('base64url');
}

/** Parts are copied into one such buffer, and hashed a buffer at a time. */
const PARTS_CHUNK = 64 * 1024;

/**
 * Each part behind the lengths of its headers and content, so no part's bytes can spell
 * a frame: the boundary that kept them apart on the wire is left out. Gathered into
 * chunks: an `update` call a part cost as much as the parse for a body of tiny parts.
 */
function hashParts(sha: Hash, body: Buffer, parts: readonly number[]): void {
  const chunk = Buffer.allocUnsafe(PARTS_CHUNK);
  let used = 0;
  const flush = (): void => {
    if (used > 0) sha.update(chunk.subarray(0, used));
    used = 0;
  };
  const add = (start: number, end: number): void => {
    if (end - start > PARTS_CHUNK - used) {
      flush();
      if (end - start > PARTS_CHUNK) return void sha.update(body.subarray(start, end));
    }
    used += body.copy(chunk, used, start, end);
  };
  for (let i = 0; i < parts.length; i += 4) {
    const headersStart = parts[i]!;
    const headersEnd = parts[i + 1]!;
    const contentStart = parts[i + 2]!;
    const contentEnd = parts[i + 3]!;
    const lengths = `${headersEnd - headersStart}:${contentEnd - contentStart}\n`;
    if (lengths.length > PARTS_CHUNK - used) flush();
    used += chunk.write(lengths, used, 'latin1');
    add(headersStart, headersEnd);
    add(contentStart, contentEnd);
  }
  flush();
}

type CanonicalBody =
  | { readonly kind: 'empty' | 'json' | 'json+files' | 'form' | 'bytes'; readonly bytes: string | Uint8Array }
  /** A multipart body and its parts' offsets (`multipartParts`), read once. */
  | { readonly kind: 'multipart'; readonly bytes: Buffer; readonly parts: readonly number[] };

/** The content type matters only for text (is it a form?), not for a value a parser made. */
function canonicalBody(body: unknown, contentType: string | undefined): CanonicalBody {
  if (body === undefined || body === null || body === '') return { kind: 'empty', bytes: '' };
  if (typeof body === 'string') {
    // Text a parser decoded (express.text()) is compared as its UTF-8, as bytes that are UTF-8 are as their text.
    const boundary = multipartBoundary(contentType);
    if (boundary !== undefined) {
      const bytes = Buffer.from(body, 'utf8');
      const parts = multipartParts(bytes, boundary);
      if (parts) return { kind: 'multipart', bytes, parts };
    }
    return canonicalText(body, isFormContentType(contentType));
  }
  if (body instanceof Uint8Array) {
    if (body.length === 0) return { kind: 'empty', bytes: '' };
    const boundary = multipartBoundary(contentType);
    const bytes = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    const parts = boundary === undefined ? undefined : multipartParts(bytes, boundary);
    if (parts) return { kind: 'multipart', bytes, parts };
    // Bytes that are no UTF-8 text (an upload) are compared as they are, as the client does.
    return isUtf8(body)
      ? canonicalText(bytes.toString('utf8'), isFormContentType(contentType))
      : { kind: 'bytes', bytes: body };
  }
  // A value from a body parser: its canonical JSON is that of the JSON text it came from.
  return { kind: 'json', bytes: canonicalBodyJson(body) };
}

/**
 * A parsed body's canonical JSON with each file behind it on a line of its own: JSON
 * text, so no field or filename can spell a line break.
 */
function withFiles(body: CanonicalBody, files: readonly UploadedFileDigest[] | undefined): CanonicalBody {
  if (files === undefined || files.length === 0) return body;
  // Only a value a parser made comes with files, and its canonical form is always text.
  let text = body.bytes as string;
  for (const f of files) text += `\n${JSON.stringify([f.fieldname, f.originalname, f.encoding, f.mimetype, f.size, f.sha256])}`;
  return { kind: 'json+files', bytes: text };
}

/**
 * A query as `canonicalForm` writes it, or as it came when that would not keep it apart
 * from another (`form-bytes.ts`): `raw:` before it, a `:` `canonicalForm` always escapes.
 */
function canonicalQuery(query: string): string {
  return decodesAsUtf8(query) ? canonicalForm(query) : `raw:${query}`;
}

/**
 * The protocol's canonical text, its `kind:` prefix turned into the hash's kind line. A
 * form the canonical form would merge with another (`form-bytes.ts`) is compared as it
 * came, behind `raw:` as its query is; JSON naming a member twice (`repeated-names.ts`)
 * as other text.
 */
function canonicalText(text: string, form: boolean): CanonicalBody {
  if (form && !decodesAsUtf8(text)) return { kind: 'form', bytes: `raw:${text}` };
  const canonical = canonicalBodyText(text, form);
  const colon = canonical.indexOf(':');
  const kind = canonical.slice(0, colon);
  const rest = canonical.slice(colon + 1);
  if (kind === 'json') return text.includes(':') && repeatsNames(text, JSON.parse(text)) ? { kind: 'bytes', bytes: text } : { kind: 'json', bytes: rest };
  return kind === 'form' ? { kind: 'form', bytes: rest } : { kind: 'bytes', bytes: rest };
}
