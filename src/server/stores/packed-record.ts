/**
 * A completed record as one run of bytes, the form the in-process stores keep it in for
 * its whole retention (in `CompletedRecords`, off the V8 heap). A store holds every
 * completed key for a day by default, and each object a key keeps is one more for the
 * garbage collector to walk: the record, its response, its headers, a `Buffer` (a typed
 * array and an array buffer) and the fingerprint string were 7 objects a key.
 *
 * Laid out as:
 *
 *     expiresAt f64 | omittedBodyBytes f64 (-1: the body was kept) | executions u32 | status u16
 *     | fingerprint | header count u16 | per header: name, then a value or u16 value count and values
 *     | the body's bytes, to the end
 *
 * each text as its u32 length then its characters, one byte each (latin1). Written by
 * hand, not with `JSON.stringify`: that took twice as long as the rest of a completion's
 * packing. The record is turned back into objects only when the key is replayed or read.
 */
import type { StoredResponse } from './types.js';

/** A completed record's fields, as the record table knows them. */
export interface CompletedFields {
  readonly fingerprint: string;
  readonly executions: number;
  readonly response: StoredResponse;
  readonly expiresAt: number;
}

const FIXED = 8 + 8 + 4 + 2;
/** A header count at or over this means the value is a list of that count minus it. */
const LIST = 0x8000;

/**
 * The packed record's size in bytes, or -1 when it does not have this form's shape (a
 * count or status out of range, a header value that is no text): such a record is kept
 * as it is.
 */
export function packedSize(record: CompletedFields): number {
  const { response, executions } = record;
  const { status, headers, body } = response;
  // -1 is what an absent omittedBodyBytes is written as.
  if (!isUint(executions, 0xffff_ffff) || !isUint(status, 0xffff) || response.omittedBodyBytes === -1) return -1;
  const names = Object.keys(headers);
  if (names.length >= LIST) return -1;
  let size = FIXED + textSize(record.fingerprint) + 2;
  for (const name of names) {
    const value = headers[name]!;
    size += textSize(name);
    if (typeof value === 'string') size += 2 + textSize(value);
    else {
      // Not the type's shape (a caller's own record): kept as it is.
      if (!Array.isArray(value) || value.length >= LIST) return -1;
      size += 2;
      for (const item of value) {
        if (typeof item !== 'string') return -1;
        size += textSize(item);
      }
    }
  }
  return size + body.byteLength;
}

/**
 * Writes the record at `at`, `packedSize(record)` bytes; false when a character of the
 * fingerprint or a header is past latin1 (the bytes written so far are then garbage the
 * caller does not keep). Written in place, so the off-heap table needs no buffer between.
 */
export function writePacked(record: CompletedFields, out: Buffer, at: number): boolean {
  const { response } = record;
  const { headers } = response;
  out.writeDoubleLE(record.expiresAt, at);
  out.writeDoubleLE(response.omittedBodyBytes ?? -1, at + 8);
  out.writeUInt32LE(record.executions, at + 16);
  out.writeUInt16LE(response.status, at + 20);
  at = writeText(out, at + FIXED, record.fingerprint);
  if (at < 0) return false;
  const names = Object.keys(headers);
  out.writeUInt16LE(names.length, at);
  at += 2;
  for (const name of names) {
    const value = headers[name]!;
    at = writeText(out, at, name);
    if (at < 0) return false;
    if (typeof value === 'string') {
      out.writeUInt16LE(0, at);
      at = writeText(out, at + 2, value);
      if (at < 0) return false;
      continue;
    }
    out.writeUInt16LE(LIST + value.length, at);
    at += 2;
    for (const item of value) {
      at = writeText(out, at, item);
      if (at < 0) return false;
    }
  }
  out.set(response.body, at);
  return true;
}

/**
 * The record packed in `bytes` from `start` to `end`. Nothing returned shares memory
 * with `bytes`: the body is copied, since the table may move or reuse its bytes later.
 */
export function unpackCompleted(bytes: Buffer, start: number, end: number): CompletedFields {
  const omitted = bytes.readDoubleLE(start + 8);
  let at = start + FIXED;
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
  const body = Buffer.from(bytes.subarray(at, end));
  const status = bytes.readUInt16LE(start + 20);
  const response: StoredResponse = omitted === -1 ? { status, headers, body } : { status, headers, body, omittedBodyBytes: omitted };
  return { fingerprint, executions: bytes.readUInt32LE(start + 16), response, expiresAt: bytes.readDoubleLE(start) };
}

function isUint(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

function textSize(text: string): number {
  return 4 + text.length;
}

/** Writes the text's length and its characters, one byte each; -1 when a character does not fit in one byte. */
function writeText(out: Buffer, at: number, text: string): number {
  const length = text.length;
  out.writeUInt32LE(length, at);
  return writeLatin1(out, at + 4, text) ? at + 4 + length : -1;
}

/**
 * From this length on (a fingerprint, a storage key, most header values) a text is checked
 * by a regular expression and copied by `Buffer#write`, about 1,300 instructions in all:
 * the loop below cost about 50 a character (`charCodeAt` and the indexed store), 6,300 a
 * request for the texts of a record and 3,600 for its key. Shorter ones (header names)
 * cost less in the loop.
 */
const NATIVE_COPY_FROM = 24;
/** Any UTF-16 code unit past one byte, a lone surrogate's included (no `u` flag). */
const PAST_LATIN1 = /[^\0-\xff]/;

/**
 * Writes the text's characters at `at`, one byte each; false when a character does not
 * fit in one byte (the bytes written so far are then garbage the caller does not keep).
 * Not `Buffer#write` alone: latin1 keeps only each character's low byte.
 */
export function writeLatin1(out: Buffer, at: number, text: string): boolean {
  const length = text.length;
  if (length >= NATIVE_COPY_FROM) {
    if (PAST_LATIN1.test(text)) return false;
    out.write(text, at, length, 'latin1');
    return true;
  }
  // Every character's bits or-ed, checked once at the end: no branch a character.
  let wide = 0;
  for (let i = 0; i < length; i++) {
    const code = text.charCodeAt(i);
    wide |= code;
    out[at + i] = code;
  }
  return wide <= 0xff;
}

function readText(bytes: Buffer, at: number): string {
  const length = bytes.readUInt32LE(at);
  return bytes.toString('latin1', at + 4, at + 4 + length);
}
