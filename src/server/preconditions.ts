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
 * A value that is neither `*` nor a list of entity tags never holds.
 */
export function ifMatchHolds(header: string, current: string | undefined): boolean {
  return holds(entityTags(header), current);
}

const ENTITY_TAG = String.raw`(?:W/)?"[\x21\x23-\x7e\x80-\xff]*"`;
/** RFC 9110 `1#entity-tag`: commas with optional whitespace between, empty elements tolerated (5.6.1). */
const ENTITY_TAG_LIST = new RegExp(`^[ \\t,]*${ENTITY_TAG}(?:[ \\t]*,[ \\t,]*${ENTITY_TAG})*[ \\t,]*$`);

/** `*`, the entity tags listed, or undefined when the value is neither (`1`, `"1`, `w/"1"`). */
function entityTags(header: string): '*' | string[] | undefined {
  const value = header.trim();
  if (value === '*') return '*';
  return ENTITY_TAG_LIST.test(value) ? (value.match(new RegExp(ENTITY_TAG, 'g')) ?? []) : undefined;
}

function holds(tags: '*' | string[] | undefined, current: string | undefined): boolean {
  if (current === undefined || tags === undefined) return false;
  return tags === '*' || tags.some((tag) => !tag.startsWith('W/') && tag === current);
}

/**
 * Why an `If-Match` did not hold: a stale version is the common case, but a malformed value
 * or a weak tag (a compressing proxy weakens ETags) never holds, and "changed since you read
 * it" would send the caller to re-read and fail again.
 */
function refusalDetail(header: string, tags: '*' | string[] | undefined): string {
  if (tags === undefined) return `If-Match is not a list of entity tags (a tag is quoted, as "3"): ${header}`;
  const weak = tags === '*' ? undefined : tags.find((tag) => tag.startsWith('W/'));
  if (weak !== undefined) return `If-Match names a weak entity tag (${weak}), which never matches (strong comparison): send the strong ETag of the version you read.`;
  return 'The resource was changed since you read it; here is its current version.';
}

/**
 * Checks the request's `If-Match` against the current version. Returns true when the
 * update may go ahead; otherwise it has answered: 412 `precondition-failed` with the
 * current `ETag` and representation (`current` in the problem; its `detail` tells a stale
 * version from a malformed `If-Match` or a weak tag), or 428 `precondition-required`.
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
  const tags = entityTags(header);
  if (holds(tags, current?.etag)) return true;
  markPreconditionRefusal(res);
  sendProblem(res, 'precondition-failed', refusalDetail(header, tags), {
    ...(current === undefined ? {} : { headers: { ETag: current.etag } }),
    extensions: current === undefined ? {} : { etag: current.etag, current: current.representation },
  });
  return false;
}
