import { decodeResponse, type EncodedResponse } from './record.js';
import { STEP_CODE, type Step } from './redis-scripts.js';
import type { StoredResponse } from './types.js';

/**
 * A stored response to be written as raw bytes into the packed argument (`Packer`): its
 * body is copied as it is, with no base64 and no JSON text around it.
 */
export class ResponseArg {
  /** Created once, used to size the record and again to write it. */
  readonly headers: string;

  constructor(readonly response: StoredResponse) {
    this.headers = JSON.stringify(response.headers);
  }
}

export type PackArg = string | number | ResponseArg;

/**
 * The first byte of a response record written by `Packer`. Records written before
 * session 25 are the JSON text of an `EncodedResponse`, which starts with `{`: both decode
 * (`decodeStoredResponse`), so a store upgraded in place replays what it kept before.
 */
const BINARY_RECORD = 0x62; // 'b'
const JSON_RECORD = 0x7b; // '{'
const COLON = 0x3a;
const ZERO = 0x30;

/**
 * A batch's script arguments, pushed onto `into`: each step's Redis key (the prefix, then
 * the step's key), then every step packed into one argument, in the format `STEPS` reads:
 * each step is its one-letter code, then each argument as `<byte length>:<bytes>`.
 *
 * As bytes (`binary`), all of them are views into one Buffer written in place, in two
 * passes (sizes, then bytes): a step allocates no strings (numbers are written digit by
 * digit, a key's prefix and key one after the other, never joined), and a response's body
 * goes in raw. As text, the keys are joined strings and the packed steps UTF-8 text (no
 * step holds a `ResponseArg` then).
 *
 * A response record is `b`, then its status, its omitted body size (empty when the body
 * was kept) and its headers' JSON as fields, then the body's bytes to the end.
 */
export function packBatch(prefix: string, steps: readonly PackedStep[], binary: boolean, into: (string | Buffer)[]): void {
  const prefixSize = Buffer.byteLength(prefix);
  let size = 0;
  for (const { key, args } of steps) {
    if (binary) size += prefixSize + Buffer.byteLength(key);
    size += 1;
    for (const arg of args) size += fieldSize(argSize(arg));
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  if (binary) {
    for (const { key } of steps) {
      const start = at;
      at += out.write(prefix, at);
      at += out.write(key, at);
      into.push(out.subarray(start, at));
    }
  } else {
    for (const { key } of steps) into.push(prefix + key);
  }
  const packed = at;
  for (const { step, args } of steps) {
    out[at++] = STEP_CODE[step].charCodeAt(0);
    for (const arg of args) {
      at = writeDigits(out, at, argSize(arg));
      out[at++] = COLON;
      at = writeArg(out, at, arg);
    }
  }
  into.push(binary ? out.subarray(packed) : out.toString('utf8'));
}

export interface PackedStep {
  /** The step's key, without the store's prefix. */
  readonly key: string;
  readonly step: Step;
  readonly args: readonly PackArg[];
}

function argSize(arg: PackArg): number {
  if (typeof arg === 'string') return Buffer.byteLength(arg);
  if (typeof arg === 'number') return numberSize(arg);
  const { response, headers } = arg;
  return 1 + fieldSize(numberSize(response.status)) + fieldSize(response.omittedBodyBytes === undefined ? 0 : numberSize(response.omittedBodyBytes)) + fieldSize(Buffer.byteLength(headers)) + response.body.byteLength;
}

function writeArg(out: Buffer, at: number, arg: PackArg): number {
  if (typeof arg === 'string') return at + out.write(arg, at);
  if (typeof arg === 'number') return writeNumber(out, at, arg);
  const { response, headers } = arg;
  out[at++] = BINARY_RECORD;
  at = writeNumberField(out, at, response.status);
  if (response.omittedBodyBytes === undefined) {
    out[at++] = ZERO;
    out[at++] = COLON;
  } else {
    at = writeNumberField(out, at, response.omittedBodyBytes);
  }
  at = writeDigits(out, at, Buffer.byteLength(headers));
  out[at++] = COLON;
  at += out.write(headers, at);
  out.set(response.body, at);
  return at + response.body.byteLength;
}

function writeNumberField(out: Buffer, at: number, value: number): number {
  at = writeDigits(out, at, numberSize(value));
  out[at++] = COLON;
  return writeNumber(out, at, value);
}

/** A field's bytes with its `<length>:` prefix. */
function fieldSize(bytes: number): number {
  return digitCount(bytes) + 1 + bytes;
}

/** Integers are written digit by digit; anything else (a fraction, a negative) as `${value}`, ASCII too. */
function numberSize(value: number): number {
  return isPlainInteger(value) ? digitCount(value) : `${value}`.length;
}

function writeNumber(out: Buffer, at: number, value: number): number {
  return isPlainInteger(value) ? writeDigits(out, at, value) : at + out.write(`${value}`, at, 'latin1');
}

function isPlainInteger(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

function digitCount(value: number): number {
  let digits = 1;
  while (value >= 10) {
    value = Math.floor(value / 10);
    digits++;
  }
  return digits;
}

function writeDigits(out: Buffer, at: number, value: number): number {
  const end = at + digitCount(value);
  let i = end;
  do {
    out[--i] = ZERO + (value % 10);
    value = Math.floor(value / 10);
  } while (value > 0);
  return end;
}

/**
 * A response record as Redis gave it back: a Buffer from a client that returns bytes, or
 * text (the JSON records every client can keep). Either format decodes from either.
 */
export function decodeStoredResponse(record: Buffer | string): StoredResponse {
  if (typeof record === 'string') {
    if (record.charCodeAt(0) === JSON_RECORD) return decodeResponse(JSON.parse(record) as EncodedResponse);
    // A raw record read by a client without callBuffer, which decoded it as UTF-8: exact
    // again for a UTF-8 body (any other body lost bytes in that decoding).
    record = Buffer.from(record, 'utf8');
  }
  if (record[0] === JSON_RECORD) return decodeResponse(JSON.parse(record.toString('utf8')) as EncodedResponse);
  if (record[0] !== BINARY_RECORD) throw new TypeError('unknown response record format');
  let at = 1;
  const field = (): Buffer => {
    const colon = record.indexOf(COLON, at);
    if (colon < 0) throw new TypeError('truncated response record');
    const length = Number(record.toString('latin1', at, colon));
    at = colon + 1 + length;
    if (!Number.isInteger(length) || at > record.length) throw new TypeError('truncated response record');
    return record.subarray(colon + 1, at);
  };
  const status = Number(field().toString('latin1'));
  const omitted = field();
  const headers = JSON.parse(field().toString('utf8')) as StoredResponse['headers'];
  // A copy: the record is a view into the client's read buffer, which it need not keep.
  const body = new Uint8Array(record.subarray(at));
  return omitted.length === 0 ? { status, headers, body } : { status, headers, body, omittedBodyBytes: Number(omitted.toString('latin1')) };
}
