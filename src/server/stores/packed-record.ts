/**
 * A completed record as one flat string, the form the in-process stores keep it in for
 * its whole retention. A store holds every completed key for a day by default, and each
 * object a key keeps is one more for the garbage collector to walk on every full
 * collection: the record, its response, its headers, a `Buffer` (a typed array and an
 * array buffer) and the fingerprint string were 7 objects a key; a packed record is 1.
 *
 * Every character of the string is one byte (latin1), laid out as:
 *
 *     expiresAt f64 | omittedBodyBytes f64 (-1: the body was kept) | executions u32 | status u16
 *     | fingerprint | header count u16 | per header: name, then a value or u16 value count and values
 *     | the body's bytes, to the end
 *
 * each text as its u32 length then its characters. The string is made by decoding one
 * buffer as latin1, so V8 keeps it as one sequential one-byte string (a concatenation
 * would stay a tree of pieces). Written by hand, not with `JSON.stringify`: that took
 * twice as long as the rest of a completion's packing. The body is turned back into bytes
 * only when the key is replayed.
 */
import type { StoredResponse } from './types.js';

/** A completed record's fields, as the record table knows them. */
export interface CompletedFields {
  readonly fingerprint: string;
  readonly executions: number;
  readonly response: StoredResponse;
  readonly expiresAt: number;
}

type Headers = StoredResponse['headers'];

const FIXED = 8 + 8 + 4 + 2;
/** A header count at or over this means the value is a list of that count minus it. */
const LIST = 0x8000;

/**
 * The record as one string, or undefined when it does not fit this form (a character
 * past latin1 in a header or the fingerprint, a count or status out of range): such a
 * record is kept as it is.
 */
export function packCompleted(record: CompletedFields): string | undefined {
  const { response, executions } = record;
  const { status, headers, body } = response;
  // -1 is what an absent omittedBodyBytes is written as.
  if (!isUint(executions, 0xffff_ffff) || !isUint(status, 0xffff) || response.omittedBodyBytes === -1) return undefined;
  const names = Object.keys(headers);
  if (names.length >= LIST) return undefined;
  let size = FIXED + textSize(record.fingerprint) + 2;
  for (const name of names) {
    const value = headers[name]!;
    size += textSize(name);
    if (typeof value === 'string') size += 2 + textSize(value);
    else {
      // Not the type's shape (a caller's own record): kept as it is.
      if (!Array.isArray(value) || value.length >= LIST) return undefined;
      size += 2;
      for (const item of value) {
        if (typeof item !== 'string') return undefined;
        size += textSize(item);
      }
    }
  }
  const out = Buffer.allocUnsafe(size + body.byteLength);
  out.writeDoubleLE(record.expiresAt, 0);
  out.writeDoubleLE(response.omittedBodyBytes ?? -1, 8);
  out.writeUInt32LE(executions, 16);
  out.writeUInt16LE(status, 20);
  let at = writeText(out, FIXED, record.fingerprint);
  if (at < 0) return undefined;
  out.writeUInt16LE(names.length, at);
  at += 2;
  for (const name of names) {
    const value = headers[name]!;
    at = writeText(out, at, name);
    if (at < 0) return undefined;
    if (typeof value === 'string') {
      out.writeUInt16LE(0, at);
      at = writeText(out, at + 2, value);
      if (at < 0) return undefined;
      continue;
    }
    out.writeUInt16LE(LIST + value.length, at);
    at += 2;
    for (const item of value) {
      at = writeText(out, at, item);
      if (at < 0) return undefined;
    }
  }
  out.set(body, at);
  return out.toString('latin1');
}

export function unpackCompleted(packed: string): CompletedFields {
  const bytes = Buffer.from(packed, 'latin1');
  const omitted = bytes.readDoubleLE(8);
  let at = FIXED;
  const fingerprint = readText(bytes, at);
  at += 4 + fingerprint.length;
  const count = bytes.readUInt16LE(at);
  at += 2;
  const headers: Record<string, string | readonly string[]> = {};
  for (let i = 0; i < count; i++) {
    const name = readText(bytes, at);
    at += 4 + name.length;
    const kind = bytes.readUInt16LE(at);
    at += 2;
    if (kind < LIST) {
      const value = readText(bytes, at);
      at += 4 + value.length;
      headers[name] = value;
      continue;
    }
    const values: string[] = [];
    for (let j = LIST; j < kind; j++) {
      const item = readText(bytes, at);
      at += 4 + item.length;
      values.push(item);
    }
    headers[name] = values;
  }
  const body = bytes.subarray(at);
  const status = bytes.readUInt16LE(20);
  const response: StoredResponse = omitted === -1 ? { status, headers, body } : { status, headers, body, omittedBodyBytes: omitted };
  return { fingerprint, executions: bytes.readUInt32LE(16), response, expiresAt: bytes.readDoubleLE(0) };
}

/** The expiry alone (the sweep reads it for every key), without unpacking the rest. */
export function packedExpiresAt(packed: string): number {
  for (let i = 0; i < 8; i++) FLOAT[i] = packed.charCodeAt(i);
  return FLOAT.readDoubleLE(0);
}

const FLOAT = Buffer.alloc(8);

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

function textSize(text: string): number {
  return 4 + text.length;
}

/**
 * Writes the text's length and its characters, one byte each; -1 when a character does
 * not fit in one byte. A loop, not `Buffer#write`: for texts this short the call into
 * C++ costs more than the copy.
 */
function writeText(out: Buffer, at: number, text: string): number {
  const length = text.length;
  out.writeUInt32LE(length, at);
  at += 4;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0xff) return -1;
    out[at + i] = code;
  }
  return at + length;
}

function readText(bytes: Buffer, at: number): string {
  const length = bytes.readUInt32LE(at);
  return bytes.toString('latin1', at + 4, at + 4 + length);
}
