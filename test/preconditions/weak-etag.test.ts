// A GET's ETag that reaches the page weak (`W/"1"`: nginx's gzip and Express's `compression`
// weaken a strong ETag when they compress) was remembered as it was and sent back as
// `If-Match: W/"1"`. If-Match compares strongly (RFC 9110 13.1.1), so a weak tag never
// matches: every save got 412 "changed by someone else", the version read included, and
// again after each re-read: the user could never save. The client now remembers the opaque
// tag without `W/` (the proxy weakened the origin's strong tag of the same version), so the
// origin compares it; an origin whose strong tag is another version still refuses.
import axios from 'axios';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { memoryStore } from '../../src/core/store.js';
import { createIdempotentFetch } from '../../src/fetch/index.js';
import { createIfMatchFetch, installIfMatch, PreconditionFailedError } from '../../src/preconditions/index.js';
import { checkIfMatch, createVerifier, type Verifier } from '../../src/server/index.js';

/** The origin's version; its GET's ETag reaches the page weakened, as through a compressing proxy. */
let version = 1;
let saves = 0;
const ifMatchSeen: Array<string | undefined> = [];
let verifier: Verifier;
let url: string;

beforeAll(async () => {
  verifier = createVerifier({
    principal: false,
    handler: (req, res) => {
      if (req.method === 'GET') {
        res.setHeader('ETag', `W/"${version}"`);
        res.end(JSON.stringify({ version }));
        return;
      }
      ifMatchSeen.push(req.headers['if-match']);
      if (!checkIfMatch(req, res, { etag: `"${version}"`, representation: { version } })) return;
      saves++;
      version++;
      res.setHeader('ETag', `W/"${version}"`);
      res.end(JSON.stringify({ version }));
    },
  });
  url = await verifier.listen(0);
});
afterAll(() => verifier.close());
beforeEach(() => {
  version = 1;
  saves = 0;
  ifMatchSeen.length = 0;
});

const json = { 'content-type': 'application/json' };

describe('a weak ETag from the GET (createIfMatchFetch)', () => {
  it('the save over the version read goes through, and so does the next one after its weak ETag', async () => {
    const api = createIfMatchFetch(createIdempotentFetch({ store: memoryStore(), locks: null }));
    await api(`${url}/doc`);
    expect(api.versions.get(`${url}/doc`)).toBe('"1"');
    const save = (title: string) => api(`${url}/doc`, { method: 'PATCH', body: JSON.stringify({ title }), headers: json });
    // Before: PreconditionFailedError { etag: '"1"' }, though "1" is what the page read.
    expect((await save('x')).status).toBe(200);
    expect((await save('y')).status).toBe(200);
    expect(ifMatchSeen).toEqual(['"1"', '"2"']);
    expect(saves).toBe(2);
  });

  it('an origin whose strong tag is another version still refuses: 412, nothing saved', async () => {
    const api = createIfMatchFetch(createIdempotentFetch({ store: memoryStore(), locks: null }));
    await api(`${url}/doc`);
    version = 2; // saved elsewhere since this page read it
    const error = await api(`${url}/doc`, { method: 'PATCH', body: '{"title":"x"}', headers: json }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error).toMatchObject({ etag: '"2"', current: { version: 2 } });
    expect(ifMatchSeen).toEqual(['"1"']);
    expect(saves).toBe(0);
  });

  it('versions.remember keeps a weak tag as its opaque tag too', () => {
    const api = createIfMatchFetch();
    api.versions.remember(`${url}/doc`, 'W/"7"');
    expect(api.versions.get(`${url}/doc`)).toBe('"7"');
  });
});

describe('a weak ETag from the GET (installIfMatch)', () => {
  const tab = () => {
    const instance = axios.create({ baseURL: url });
    installIdempotency(instance, { store: memoryStore(), locks: null });
    return { instance, ...installIfMatch(instance) };
  };

  it('the save over the version read goes through, and so does the next one', async () => {
    const { instance, versions } = tab();
    await instance.get('/doc');
    expect(versions.get(`${url}/doc`)).toBe('"1"');
    // Before: PreconditionFailedError { etag: '"1"' }.
    expect((await instance.patch('/doc', { title: 'x' })).status).toBe(200);
    expect((await instance.patch('/doc', { title: 'y' })).status).toBe(200);
    expect(ifMatchSeen).toEqual(['"1"', '"2"']);
    expect(saves).toBe(2);
  });

  it('an origin whose strong tag is another version still refuses', async () => {
    const { instance } = tab();
    await instance.get('/doc');
    version = 2;
    const error = await instance.patch('/doc', { title: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PreconditionFailedError);
    expect(error).toMatchObject({ etag: '"2"' });
    expect(saves).toBe(0);
  });
});
