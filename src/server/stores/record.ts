import type { StoredResponse } from './types.js';

/** JSON-safe form of a stored response, for stores that keep text (file, Redis). */
export interface EncodedResponse {
  readonly s: number;
  readonly h: Readonly<Record<string, string | readonly string[]>>;
  /** Body, base64. */
  readonly b: string;
  readonly o?: number;
}

/**
 * The `EncodedResponse` of a response as JSON text, written out directly (the file store
 * writes one per completion, Redis one per completion's script call): the same text
 * `JSON.stringify` makes of that object, so what either kept before still decodes.
 */
export function encodeResponseJson(response: StoredResponse): string {
  const omitted = response.omittedBodyBytes === undefined ? '' : `,"o":${jsonNumber(response.omittedBodyBytes)}`;
  return `{"s":${jsonNumber(response.status)},"h":${JSON.stringify(response.headers)},"b":"${base64(response.body)}"${omitted}}`;
}

/** A number as `JSON.stringify` writes it: `null` when it is not finite. */
export function jsonNumber(value: number): string {
  return Number.isFinite(value) ? `${value}` : 'null';
}

function base64(body: Uint8Array): string {
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('base64');
}

export function decodeResponse(encoded: EncodedResponse): StoredResponse {
  const body = Buffer.from(encoded.b, 'base64');
  return encoded.o === undefined
    ? { status: encoded.s, headers: encoded.h, body }
    : { status: encoded.s, headers: encoded.h, body, omittedBodyBytes: encoded.o };
}
