/**
 * A completed record as one flat string, the form the in-process stores keep it in for
 * its whole retention. A store holds every completed key for a day by default, and each
 * object a key keeps is one more for the garbage collector to walk on every full
 * collection: the record, its response, its headers, a `Buffer` (a typed array and an
 * array buffer) and the fingerprint string were 7 objects a key; a packed record is 1.
 *
 * Layout: two characters giving the head's length (high, low byte), the head
 * (`JSON.stringify([expiresAt, executions, fingerprint, status, headers, omittedBodyBytes])`,
 * `omittedBodyBytes` -1 when the body was kept), then the body's bytes, one latin1
 * character each. The string is made by decoding one buffer as latin1, so V8 keeps it as
 * one sequential one-byte string (a concatenation would stay a tree of pieces). The body
 * is turned back into bytes only when the key is replayed.
 */
import type { StoredResponse } from './types.js';

/** A completed record's fields, as the record table knows them. */
export interface CompletedFields {
  readonly fingerprint: string;
  readonly executions: number;
  readonly response: StoredResponse;
  readonly expiresAt: number;
}

type Head = [expiresAt: number, executions: number, fingerprint: string, status: number, headers: StoredResponse['headers'], omittedBodyBytes: number];

const MAX_HEAD = 0xffff;
// The longest text JSON writes for a number: "-1.7976931348623157e+308".
const MAX_NUMBER_TEXT = 24;

/**
 * The record as one string, or undefined when it cannot be packed losslessly this way (a
 * head with characters beyond ASCII or over 64 KiB, an expiry JSON cannot write): such a
 * record is kept as it is.
 */
export function packCompleted(record: CompletedFields): string | undefined {
  const { response } = record;
  if (!Number.isFinite(record.expiresAt)) return undefined;
  const head: Head = [record.expiresAt, record.executions, record.fingerprint, response.status, response.headers, response.omittedBodyBytes ?? -1];
  const text = JSON.stringify(head);
  // Any character past ASCII takes more than one UTF-8 byte: latin1 would not keep it.
  if (text.length > MAX_HEAD || Buffer.byteLength(text, 'utf8') !== text.length) return undefined;
  const body = response.body;
  const packed = Buffer.allocUnsafe(2 + text.length + body.byteLength);
  packed[0] = text.length >> 8;
  packed[1] = text.length & 0xff;
  packed.write(text, 2, 'latin1');
  packed.set(body, 2 + text.length);
  return packed.toString('latin1');
}

export function unpackCompleted(packed: string): CompletedFields {
  const length = headLength(packed);
  const [expiresAt, executions, fingerprint, status, headers, omitted] = JSON.parse(packed.slice(2, 2 + length)) as Head;
  const body = Buffer.from(packed.slice(2 + length), 'latin1');
  const response: StoredResponse = omitted === -1 ? { status, headers, body } : { status, headers, body, omittedBodyBytes: omitted };
  return { fingerprint, executions, response, expiresAt };
}

/** The expiry alone (the sweep reads it for every key), without parsing the rest. */
export function packedExpiresAt(packed: string): number {
  // The head starts `[<expiresAt>,`; parseFloat stops at the comma.
  return Number.parseFloat(packed.slice(3, 3 + MAX_NUMBER_TEXT));
}

function headLength(packed: string): number {
  return (packed.charCodeAt(0) << 8) | packed.charCodeAt(1);
}
