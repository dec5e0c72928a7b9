/** The shared protocol vectors, run through the client: its fingerprint and its header handling. */
import { describe, expect, it } from 'vitest';
import { fingerprintOf } from '../../src/core/fingerprint.js';
import { InvalidKeyError, InvalidRequestError } from '../../src/core/errors.js';
import { resolveTransport } from '../../src/http/resolve-transport.js';
import { memoryStore } from '../../src/core/store.js';
import { isFormContentType } from '../../src/protocol/index.js';
import { depthVectors, keyFormatVectors, keyHeaderVectors, payloadVectors, type WireRequest } from './vectors.js';

/** The client's fingerprint of a wire request, its body handed over as a caller would. */
function clientPrint(request: WireRequest, as: 'text' | 'bytes'): string {
  let body: unknown = request.body;
  if (typeof body === 'string' && isFormContentType(request.contentType)) body = new URLSearchParams(body);
  else if (typeof body === 'string' && as === 'bytes') body = new TextEncoder().encode(body);
  return fingerprintOf({ method: request.method, url: request.url, body });
}

describe('client fingerprint over the shared payload vectors', () => {
  for (const vector of payloadVectors) {
    for (const as of ['text', 'bytes'] as const) {
      it(`${vector.name} (${as}): ${vector.same ? 'one payload' : 'two payloads'}`, () => {
        expect(clientPrint(vector.a, as) === clientPrint(vector.b, as)).toBe(vector.same);
      });
    }
  }

  it('refuses a body nested deeper than the protocol allows, as a value, text or bytes', () => {
    for (const vector of depthVectors) {
      const forms: unknown[] = [JSON.parse(vector.text), vector.text, new TextEncoder().encode(vector.text)];
      for (const body of forms) {
        const print = () => fingerprintOf({ method: 'POST', url: 'https://shop.test/x', body });
        if (vector.tooDeep) expect(print, vector.name).toThrow(InvalidRequestError);
        else expect(print, vector.name).not.toThrow();
      }
    }
  });
});

describe('client key headers over the shared key vectors', () => {
  const transport = (keyFormat: 'token' | 'sf-string' = 'token') => resolveTransport({ store: memoryStore(), locks: null, keyFormat });

  for (const vector of keyHeaderVectors) {
    it(`a request already carrying ${JSON.stringify(vector.header)}: ${vector.key === null ? 'refused' : 'kept'}`, () => {
      // fetch's Headers joins a repeated header with ", ", as Node does on the server.
      const headers = new Headers();
      try {
        for (const value of typeof vector.header === 'string' ? [vector.header] : vector.header) headers.append('Idempotency-Key', value);
      } catch (error) {
        // Beyond Latin-1 a header cannot even be set: the platform refuses it first.
        expect(error).toBeInstanceOf(TypeError);
        return expect(vector.key).toBeNull();
      }
      const value = headers.get('Idempotency-Key');
      const { existingKey } = transport();
      // An empty or absent header is no key at all: the engine mints one.
      if (value === null || value.trim() === '') return expect(existingKey(value)).toBeUndefined();
      if (vector.key === null) expect(() => existingKey(value)).toThrow(InvalidKeyError);
      else expect(existingKey(value)).toBe(vector.key);
    });
  }

  for (const vector of keyFormatVectors) {
    it(`sends ${JSON.stringify(vector.key.slice(0, 12))} so that it reads back unchanged`, () => {
      for (const format of ['token', 'sf-string'] as const) {
        const { format: write, existingKey } = transport(format);
        expect(write(vector.key)).toBe(format === 'token' ? vector.token : vector.sfString);
        expect(existingKey(write(vector.key))).toBe(vector.key);
      }
    });
  }
});
