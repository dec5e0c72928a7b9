/** Answering a request with the stored response of its key's first run. */
import type { ServerResponse } from 'node:http';
import { REPLAYED_HEADER } from '../protocol/index.js';
import { sendProblem } from './respond.js';
import type { StoredResponse } from './stores/types.js';

/**
 * Headers of one connection's framing, never replayed even when `replayHeaders` names them
 * (or a record kept them): the replay frames the body itself, and a `Transfer-Encoding`
 * beside its `Content-Length` is a message that proxies split differently (RFC 9112 6.1).
 */
const HOP_BY_HOP: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

/**
 * Writes the stored status, replayed headers and exact body bytes, marked
 * `Idempotent-Replayed: true`. A response that was over the storage limit was not kept:
 * that key answers 410 `response-not-stored` (it took effect; it is not run again).
 */
export function replay(res: ServerResponse, response: StoredResponse): void {
  if (response.omittedBodyBytes !== undefined) {
    sendProblem(
      res,
      'response-not-stored',
      `The request with this key already took effect (status ${response.status}), but its ${response.omittedBodyBytes}-byte response was over the storage limit and was not kept. It is not run again.`,
      { headers: { [REPLAYED_HEADER]: 'true' }, extensions: { originalStatus: response.status } },
    );
    return;
  }
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) if (!HOP_BY_HOP.has(name)) res.setHeader(name, value);
  res.setHeader(REPLAYED_HEADER, 'true');
  if (hasBody(res, response.status)) res.setHeader('Content-Length', response.body.byteLength);
  res.end(response.body);
}

/**
 * Whether the answer carries a body, whose length Node's `end` would send: not a 204 or
 * 304, nor the answer to HEAD (Node sends no body, and no length, for the body a handler
 * gave it).
 */
export function hasBody(res: ServerResponse, status: number): boolean {
  return status !== 204 && status !== 304 && (res as { req?: { method?: string } }).req?.method !== 'HEAD';
}
