import { SubmitOnceError, type SubmitOnceErrorOptions } from '../core/errors.js';

/**
 * Token mode could not get a key from the server (offline, the endpoint failed). Nothing
 * was stored or sent: submitting again is safe, and fetches a token again.
 */
export class TokenUnavailableError extends SubmitOnceError {
  override name = 'TokenUnavailableError' as const;
  constructor(detail: string, options?: SubmitOnceErrorOptions) {
    super('token-unavailable', `No idempotency token from the server: ${detail}`, options);
  }
}

declare module '../core/errors.js' {
  interface SubmitOnceErrorByCode {
    'token-unavailable': TokenUnavailableError;
  }
}
