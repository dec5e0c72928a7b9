/**
 * Optimistic concurrency over HTTP (RFC 9110 `If-Match`, RFC 6585 428): an update names
 * the version it read, and runs only if that is still the current one. Two editors who
 * read version 3 cannot both write over it: the second gets 412 with what is there now.
 *
 * The version is the application's (a row's version column, an updated-at, a hash): it
 * passes the current one in, as a strong entity tag. Behind the idempotency middleware
 * this check runs only on a key's first run: a retry of an update that succeeded is
 * replayed by the middleware before the handler, so it gets its 200 back, not a 412 for
 * the version it itself moved on. Its own refusals (412, 428) are not stored: nothing ran,
 * so the key is released, and the same key sent again over the version read since runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { markPreconditionRefusal } from './precondition-refusals.js';
import { sendProblem } from './respond.js';

/** The resource as it is now: its entity tag (`etagOf(version)`) and what a 412 shows of it. */
export interface CurrentVersion {
  readonly etag: string;
  readonly representation?: unknown;
}

export interface PreconditionOptions {
  /** Answer 428 to an update without `If-Match`. Default true: a blind write is the bug this prevents. */
  readonly required?: boolean;
}

/**
 * A strong entity tag for a version: `etagOf(3)` is `"3"`.
 *
 * @example res.setHeader('ETag', etagOf(order.version))
 */
export function etagOf(version: string | number): string {
  const text = String(version);
  // RFC 9110 etagc: visible ASCII but `"`, or obs-text; anything else would break the header.
  if (!/^[\x21\x23-\x7e]*$/.test(text)) throw new RangeError(`submit-once: a version must be visible ASCII without '"', got ${JSON.stringify(text)}`);
  return `"${text}"`;
}

/**
 * True when an `If-Match` value holds for the current entity tag: `*` for any existing
 * resource, else one of the listed tags by strong comparison (a weak `W/"…"` never matches).
 */
export function ifMatchHolds(header: string, current: string | undefined): boolean {
  if (current === undefined) return false;
  if (header.trim() === '*') return true;
  const tags = header.match(/(W\/)?"[^"]*"/g) ?? [];
  return tags.some((tag) => !tag.startsWith('W/') && tag === current);
}

/**
 * Checks the request's `If-Match` against the current version. Returns true when the
 * update may go ahead; otherwise it has answered: 412 `precondition-failed` with the
 * current `ETag` and representation (`current` in the problem), or 428
 * `precondition-required`.
 *
 * @example
 * if (!checkIfMatch(req, res, { etag: etagOf(order.version), representation: order })) return;
 */
export function checkIfMatch(req: IncomingMessage, res: ServerResponse, current: CurrentVersion | undefined, options: PreconditionOptions = {}): boolean {
  const header = req.headers['if-match'];
  if (header === undefined || header === '') {
    if (options.required ?? true) {
      markPreconditionRefusal(res);
      sendProblem(res, 'precondition-required', 'Send If-Match with the ETag of the version you read.');
      return false;
    }
    return true;
  }
  if (ifMatchHolds(header, current?.etag)) return true;
  markPreconditionRefusal(res);
  sendProblem(res, 'precondition-failed', 'The resource was changed since you read it; here is its current version.', {
    ...(current === undefined ? {} : { headers: { ETag: current.etag } }),
    extensions: current === undefined ? {} : { etag: current.etag, current: current.representation },
  });
  return false;
}
