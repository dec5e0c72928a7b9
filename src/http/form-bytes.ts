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
  const encoded = new Response(form);
  const type = encoded.headers.get('content-type') ?? '';
  const bytes = new Uint8Array(await encoded.arrayBuffer());
  const from = new TextEncoder().encode(`--${/boundary=([^;\s]+)/.exec(type)?.[1]}`);
  let last: [string, Blob] | undefined;
  return (key) => {
    if (last?.[0] !== key) {
      // Random to the content, as the platform's: the key is, and so is its hash.
      const ours = `submit-once-${hash64(key)}`;
      const parts: BlobPart[] = [];
      let read = 0;
      for (let i = 0; (i = bytes.indexOf(from[0]!, i)) >= 0; i += 1) {
        if (from.every((byte, j) => bytes[i + j] === byte)) {
          parts.push(bytes.subarray(read, i), `--${ours}`);
          read = i + from.length;
          i = read - 1;
        }
      }
      parts.push(bytes.subarray(read));
      last = [key, new Blob(parts, { type: `multipart/form-data; boundary=${ours}` })];
    }
    return last[1];
  };
}
