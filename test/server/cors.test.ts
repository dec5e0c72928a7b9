/**
 * CORS as the middleware answers it: which origins may read an answer (a replay included),
 * and what a shared cache is told about it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createVerifier, idempotency, InvalidOptionsError, type Verifier } from '../../src/server/index.js';
import { post } from '../helpers/post.js';

const verifiers: Verifier[] = [];
afterEach(async () => {
  for (const v of verifiers.splice(0)) await v.close();
});

describe('cors', () => {
  it('refuses credentials without an origin list or predicate: echoing every origin with credentials lets any site read what the caller may', () => {
    expect(() => idempotency({ cors: { credentials: true } })).toThrow(InvalidOptionsError);
    expect(() => idempotency({ cors: { credentials: true, origin: '*' } })).toThrow(/cors/);
    expect(() => createVerifier({ cors: { credentials: true } })).toThrow(InvalidOptionsError);
    // (control) an origin list or a predicate with credentials is fine.
    expect(() => idempotency({ cors: { credentials: true, origin: ['https://shop.test'] } })).not.toThrow();
    expect(() => idempotency({ cors: { credentials: true, origin: (o) => o.endsWith('.shop.test') } })).not.toThrow();
  });

  it('says Vary: Origin on every answer whose CORS headers depend on the origin: one without Origin or from another origin too', async () => {
    const v = createVerifier({ cors: { origin: ['https://shop.test'] } });
    verifiers.push(v);
    const url = await v.listen(0);
    const allowed = await post(`${url}/orders`, { key: 'v1', body: {}, headers: { Origin: 'https://shop.test' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.test');
    expect(allowed.headers.get('vary')).toMatch(/origin/i);
    // A cache that kept either of these without Vary would serve it to shop.test without CORS headers.
    const other = await post(`${url}/orders`, { key: 'v2', body: {}, headers: { Origin: 'https://evil.test' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(other.headers.get('vary')).toMatch(/origin/i);
    const none = await post(`${url}/orders`, { key: 'v3', body: {} });
    expect(none.headers.get('vary')).toMatch(/origin/i);
    // (control) with every origin allowed the answer is one for all: no Vary.
    const star = createVerifier();
    verifiers.push(star);
    const starUrl = await star.listen(0);
    expect((await post(`${starUrl}/orders`, { key: 'v4', body: {}, headers: { Origin: 'https://a.test' } })).headers.get('vary')).toBeNull();
  });
});
