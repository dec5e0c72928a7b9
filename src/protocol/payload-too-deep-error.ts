/**
 * Thrown by `canonicalJson` for a value nested deeper than `MAX_JSON_DEPTH`. It lives in
 * the protocol (not in the client's error family) because the server throws it too and
 * answers it with the `body-too-deep` problem; the client wraps it in its own
 * `InvalidRequestError`. `code` matches that problem's code.
 */
export class PayloadTooDeepError extends Error {
  override name = 'PayloadTooDeepError' as const;
  readonly code = 'body-too-deep' as const;

  /** `limit`: the depth that was exceeded (`MAX_JSON_DEPTH`). */
  constructor(limit: number) {
    super(`nested deeper than ${limit} levels`);
  }
}

/** True for a `PayloadTooDeepError`, also from another realm (where `instanceof` fails). */
export function isPayloadTooDeepError(error: unknown): error is PayloadTooDeepError {
  return error instanceof Error && error.name === 'PayloadTooDeepError' && (error as { code?: unknown }).code === 'body-too-deep';
}
