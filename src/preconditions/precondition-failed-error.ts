import { SubmitOnceError } from '../core/errors.js';

/**
 * The server refused an update (412): the resource changed since this page read it.
 * Final, never retried: show "changed by someone else" with `current`, and let the user
 * decide. A GET of the resource (or `versions.remember`) makes the next update go over
 * the version seen now. `cause` is the 412 itself: the `Response` (fetch) or the
 * `AxiosError` (axios).
 */
export class PreconditionFailedError extends SubmitOnceError {
  override name = 'PreconditionFailedError' as const;
  readonly status = 412;
  constructor(
    readonly url: string,
    /** The current version's entity tag, when the server said it. */
    readonly etag: string | undefined,
    /** The current representation, when the server sent it (the verifier's `current`). */
    readonly current: unknown,
    options: { cause: unknown },
  ) {
    super('precondition-failed', `${url} was changed by someone else since it was read (412).`, options);
  }
}

declare module '../core/errors.js' {
  interface SubmitOnceErrorByCode {
    'precondition-failed': PreconditionFailedError;
  }
}
