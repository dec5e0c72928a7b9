/**
 * A held request as a plain, storable object and back: the body read into bytes, the
 * headers cut to an allow-list (credentials never reach the disk).
 */
import { InvalidRequestError } from '../../core/errors.js';
import type { HeldRequest } from '../../core/outbox-port.js';
import { formBytes, isFormData } from '../../http/form-bytes.js';
import type { OutboxItem, StoredAnswer, StoredInit } from './outbox-item.js';

/** Content headers a replay needs to mean the same; anything else is the caller's to re-apply (`beforeReplay`). */
export const DEFAULT_ALLOWED_HEADERS: readonly string[] = ['accept', 'accept-language', 'content-language', 'content-type'];

/** Never stored, even if a caller lists them: the outbox's data is readable by any script of the origin. */
export const NEVER_STORED: readonly string[] = ['authorization', 'cookie', 'proxy-authorization', 'set-cookie'];

export interface ItemTimes {
  now: number;
  retention: number;
  nextAttemptAt: number;
}

export async function toItem(held: HeldRequest, allowed: ReadonlySet<string>, times: ItemTimes): Promise<OutboxItem> {
  let request: Request;
  let body: ArrayBuffer | null;
  try {
    const url = new URL(held.url, (globalThis as { location?: { href: string } }).location?.href).href;
    // A form (a guard's or the hook's `held`) as the bytes its attempts sent under the key,
    // not the platform's random boundary: the server would refuse the replay as another payload.
    const sent = isFormData(held.body) ? (await formBytes(held.body))(held.key) : held.body;
    // The modes too: one that is none of fetch's is refused here, not at every replay.
    const { credentials, mode, redirect, referrerPolicy, cache, integrity } = held;
    request = new Request(url, { method: held.method, headers: [...held.headers], body: (sent ?? null) as RequestInit['body'], credentials, mode, redirect, referrerPolicy, cache, integrity });
    // Can fail too: a picked File changed on disk since (NotReadableError).
    body = request.body ? await request.arrayBuffer() : null;
  } catch (cause) {
    throw new InvalidRequestError('the outbox cannot keep this request', { cause });
  }
  // Their answer is opaque (status 0): a replay could neither store it nor hand it back, and
  // sent another way it would change what the page sees (a redirect followed). `navigate`
  // the constructor refused.
  const opaque = request.mode === 'no-cors' ? 'mode' : request.redirect === 'manual' ? 'redirect' : '';
  if (opaque) throw new InvalidRequestError(`the outbox cannot replay a ${opaque} '${request[opaque]}' request (its answer is opaque)`);
  const keyHeader = held.keyHeader.toLowerCase();
  const headers: [string, string][] = [];
  // A Request adds the content-type of a FormData (its boundary), URLSearchParams or Blob body.
  request.headers.forEach((value, name) => {
    if ((allowed.has(name) || name === keyHeader) && !NEVER_STORED.includes(name)) headers.push([name, value]);
  });
  return {
    v: 1,
    id: held.key,
    key: held.key,
    fingerprint: held.fingerprint,
    method: request.method,
    url: request.url,
    headers,
    keyHeader,
    body,
    credentials: request.credentials,
    // Narrowed above: neither opaque mode gets here.
    init: { mode: request.mode, redirect: request.redirect, referrerPolicy: request.referrerPolicy, cache: request.cache, integrity: request.integrity } as StoredInit,
    createdAt: times.now,
    // From the key's first use: the servers' retention of it started then, not now.
    expiresAt: Math.min(times.now, held.keyCreatedAt ?? times.now) + times.retention,
    attempts: 0,
    nextAttemptAt: times.nextAttemptAt,
    state: 'queued',
  };
}

/**
 * The request a replay sends, in the credentials mode it was made with (an item stored
 * without one: the Request's default, `same-origin`); credentials are the caller's `beforeReplay` to add.
 */
export function toRequest(item: OutboxItem, signal?: AbortSignal): Request {
  return new Request(item.url, { method: item.method, headers: item.headers, body: item.body, credentials: item.credentials, ...item.init, signal });
}

/** Rejects an opaque answer (status 0: `no-cors`, `redirect: 'manual'` set in `beforeReplay`, `Response.error()`): it could be neither stored nor handed back, so the replay counts as failed. */
export async function readAnswer(response: Response): Promise<StoredAnswer> {
  if (response.status === 0) throw new TypeError('opaque answer');
  return { status: response.status, statusText: response.statusText, headers: [...response.headers], body: await response.arrayBuffer() };
}

export function toResponse(answer: StoredAnswer): Response {
  // The Response constructor refuses a body, even empty, with these statuses.
  const body = [101, 204, 205, 304].includes(answer.status) ? null : answer.body.slice(0);
  return new Response(body, { status: answer.status, statusText: answer.statusText, headers: answer.headers });
}
