/**
 * One answer, several callers (the first caller, a repeat inside the settle window, a
 * tab waiting on the same intent), without teeing the body for the first caller.
 *
 * `Response.clone()` tees the body natively: 45-60 µs per answer over loopback
 * (docs/client-cost.md), paid on every submission so that a rare later copy can still
 * read a body the first caller has read. Instead the first caller gets the original,
 * switched to a prototype whose readers record the bytes once as they read them; a copy
 * is then made from the recorded bytes, or teed natively while the body is untouched.
 */
import { SubmitOnceError } from '../core/errors.js';

/**
 * The body of an answer was consumed without being recorded (read through `Response.prototype`
 * itself, or by a platform API such as `Cache.put`), so a repeat of the same intent inside the
 * settle window, or another tab waiting on it, cannot have a copy. Nothing is sent again.
 */
export class ResponseConsumedError extends SubmitOnceError {
  override name = 'ResponseConsumedError' as const;
  constructor(options?: { cause?: unknown }) {
    super('response-consumed', 'The answer to this intent was read in a way that kept no copy of its body; it is not sent again.', options);
  }
}

/**
 * Per handed-out answer, once its body is touched: the bytes one of our readers is reading
 * (recorded for copies), or a native clone made when the caller took the `body` stream
 * itself (copies are cloned from it).
 */
const touched = new WeakMap<Response, Promise<ArrayBuffer> | Response>();

let recording: Response | undefined;
let decoder: TextDecoder | undefined;

/**
 * The answer itself for the first caller (switched to the recording prototype), a copy for
 * every later one. An answer that is not a plain `Response` of this realm (a subclass, a
 * polyfill's, another frame's) is cloned for every caller, as before.
 */
export function shareResponse(response: Response): Response {
  const prototype = Object.getPrototypeOf(response) as unknown;
  if (prototype === Response.prototype) {
    // Stays a real Response (the platform's brand, `instanceof Response`): only its readers change.
    Object.setPrototypeOf(response, (recording ??= recordingPrototype()));
    return response;
  }
  return prototype === recording ? copyOf(response) : response.clone();
}

const nativeBody = () => Object.getOwnPropertyDescriptor(Response.prototype, 'body')!.get!;

function copyOf(original: Response): Response {
  const state = touched.get(original);
  if (state instanceof Response) return state.clone();
  // A null body (204, an opaque answer) is never disturbed: the native clone below works.
  if (state && nativeBody().call(original) !== null) return fromBytes(original, state);
  try {
    // Untouched: the native tee, as `clone()` always did.
    return Response.prototype.clone.call(original);
  } catch (cause) {
    // Read past our readers: no bytes to copy. A new request would act twice; an empty body would lie.
    throw new ResponseConsumedError({ cause });
  }
}

/** A copy from the recorded bytes: the original's status, headers, `url`, `redirected` and `type`; its read fails as the original's did. */
function fromBytes(original: Response, recorded: Promise<ArrayBuffer>): Response {
  const body = new ReadableStream<Uint8Array>({
    start: (controller) =>
      recorded.then(
        (bytes) => {
          // Each copy its own bytes: a reader may write into the chunk it gets.
          if (bytes.byteLength > 0) controller.enqueue(new Uint8Array(bytes.slice(0)));
          controller.close();
        },
        (error: unknown) => controller.error(error),
      ),
  });
  const copy = new Response(body, { status: original.status, statusText: original.statusText, headers: original.headers });
  // A constructed Response has no url, is never redirected and is of type "default": the original's, as own properties.
  for (const name of ['url', 'redirected', 'type'] as const) Object.defineProperty(copy, name, { value: original[name], configurable: true });
  return copy;
}

type Reader = 'arrayBuffer' | 'bytes' | 'text' | 'json' | 'blob' | 'formData';

/**
 * `Response.prototype` with readers that read the bytes once through the native
 * `arrayBuffer()`, keep that promise for copies, and derive what each reader returns as the
 * platform does; and a `body` getter that keeps a native clone before handing the stream out.
 */
function recordingPrototype(): Response {
  const base = Response.prototype;
  const body = nativeBody();
  const text = (bytes: ArrayBuffer) => (decoder ??= new TextDecoder()).decode(bytes);
  // Through the platform where its parsing has details of its own (the blob's type, multipart).
  const viaPlatform = (response: Response, bytes: ArrayBuffer) => {
    const type = response.headers.get('content-type');
    return new Response(bytes, type === null ? undefined : { headers: { 'content-type': type } });
  };
  const derive: Record<Reader, (bytes: ArrayBuffer, response: Response) => unknown> = {
    // The caller's own buffer: one it writes into must not change the copies.
    arrayBuffer: (bytes) => bytes.slice(0),
    bytes: (bytes) => new Uint8Array(bytes.slice(0)),
    // UTF-8, a BOM dropped, invalid sequences replaced: `Response.text()`'s decoding.
    text,
    json: (bytes) => JSON.parse(text(bytes)) as unknown,
    blob: (bytes, response) => viaPlatform(response, bytes).blob(),
    formData: (bytes, response) => viaPlatform(response, bytes).formData(),
  };
  const descriptors: PropertyDescriptorMap = {
    body: {
      get(this: Response) {
        if (!touched.has(this)) {
          try {
            touched.set(this, base.clone.call(this));
          } catch {
            // Already read past our readers: nothing left to keep (a copy will say so).
          }
        }
        return body.call(this);
      },
      configurable: true,
      enumerable: true,
    },
  };
  for (const name of Object.keys(derive) as Reader[]) {
    const native = base[name] as ((this: Response) => Promise<unknown>) | undefined;
    // Only the readers this platform has (`bytes()` is recent).
    if (typeof native !== 'function') continue;
    descriptors[name] = {
      value: function (this: Response) {
        // A second read, or a body whose stream was taken: the platform's own answer (a
        // rejection, or a null body's empty result).
        if (touched.has(this)) return native.call(this);
        const bytes = base.arrayBuffer.call(this);
        touched.set(this, bytes);
        return bytes.then((read) => derive[name](read, this));
      },
      configurable: true,
      writable: true,
    };
  }
  return Object.create(base, descriptors) as Response;
}
