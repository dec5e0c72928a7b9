/**
 * A FormData body as the same bytes on every send under one key. The platform encodes a
 * FormData with a random multipart boundary, a new one at each send: a retry under the
 * same key was another payload to a server comparing bytes (the verifier answered 422,
 * the key was dropped, and the user's next click ran the order again). The platform's
 * encoding is kept and its boundary replaced by one derived from the key, so a later
 * submission reusing the key (a reload, a try after `AmbiguousOutcomeError`) sends the
 * same bytes too.
 */
import { hash64 } from '../core/hash.js';

export function isFormData(body: unknown): body is FormData {
  return typeof FormData !== 'undefined' && body instanceof FormData;
}

/**
 * Encodes `form` once; the returned function gives its bytes under a key, as a Blob whose
 * `type` is their `multipart/form-data; boundary=…` (fetch and axios send it as the
 * Content-Type, and it is set on the headers too).
 */
export async function formBytes(form: FormData): Promise<(key: string) => Blob> {
  const [bytes, from] = await encode(form);
  let last: [string, Blob] | undefined;
  return (key) => {
    if (last?.[0] !== key) {
      // Random to the content, as the platform's: the key is, and so is its hash.
      const ours = `submit-once-${hash64(key)}`;
      last = [key, new Blob(rebound(bytes, from, ours), { type: `multipart/form-data; boundary=${ours}` })];
    }
    return last[1];
  };
}

/**
 * A multipart body's form, when the platform encodes that form as these very bytes (a
 * FormData sent in a Request, as ky sends one). Else undefined, and the body stays bytes:
 * built by hand, parsed and encoded again it would lose a part's Content-Type or text not
 * in UTF-8, another payload than the caller's.
 */
export async function formOf(bytes: Uint8Array<ArrayBuffer>, type: string): Promise<FormData | undefined> {
  let form: FormData;
  try {
    form = await new Response(bytes, { headers: { 'content-type': type } }).formData();
  } catch {
    return undefined;
  }
  const [again, from] = await encode(form);
  const same = new Uint8Array(await new Blob(rebound(again, from, boundaryOf(type))).arrayBuffer());
  return same.length === bytes.length && same.every((byte, i) => byte === bytes[i]) ? form : undefined;
}

async function encode(form: FormData): Promise<[bytes: Uint8Array<ArrayBuffer>, boundary: string]> {
  const encoded = new Response(form);
  return [new Uint8Array(await encoded.arrayBuffer()), boundaryOf(encoded.headers.get('content-type') ?? '')];
}

function boundaryOf(type: string): string {
  return /boundary=([^;\s]+)/.exec(type)?.[1] ?? '';
}

/** `bytes` with every `--from` delimiter written `--to`. */
function rebound(bytes: Uint8Array<ArrayBuffer>, from: string, to: string): BlobPart[] {
  const mark = new TextEncoder().encode(`--${from}`);
  const parts: BlobPart[] = [];
  let read = 0;
  for (let i = 0; (i = bytes.indexOf(mark[0]!, i)) >= 0; i += 1) {
    if (mark.every((byte, j) => bytes[i + j] === byte)) {
      parts.push(bytes.subarray(read, i), `--${to}`);
      read = i + mark.length;
      i = read - 1;
    }
  }
  parts.push(bytes.subarray(read));
  return parts;
}
