import type { StoredResponse } from './types.js';

/** JSON-safe form of a stored response, for stores that keep text (file, Redis). */
export interface EncodedResponse {
  readonly s: number;
  readonly h: Readonly<Record<string, string | readonly string[]>>;
  /** Body, base64. */
  readonly b: string;
  readonly o?: number;
}

export function encodeResponse(response: StoredResponse): EncodedResponse {
  const body = Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength);
  const encoded: EncodedResponse = { s: response.status, h: response.headers, b: body.toString('base64') };
  return response.omittedBodyBytes === undefined ? encoded : { ...encoded, o: response.omittedBodyBytes };
}

export function decodeResponse(encoded: EncodedResponse): StoredResponse {
  const body = Buffer.from(encoded.b, 'base64');
  return encoded.o === undefined
    ? { status: encoded.s, headers: encoded.h, body }
    : { status: encoded.s, headers: encoded.h, body, omittedBodyBytes: encoded.o };
}
