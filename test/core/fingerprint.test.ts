import { describe, expect, it, vi } from 'vitest';
import { fingerprint, fingerprintOf, normaliseUrl } from '../../src/core/fingerprint.js';
import { InvalidRequestError, UnreplayableBodyError } from '../../src/core/errors.js';

const base = { method: 'POST', url: 'https://shop.test/orders?b=2&a=1' };

describe('fingerprint', () => {
  it('ignores JSON key order, in objects and in JSON text', async () => {
    const a = await fingerprint({ ...base, body: { sku: 'A', qty: 1, meta: { x: 1, y: [1, 2] } } });
    const b = await fingerprint({ ...base, body: { meta: { y: [1, 2], x: 1 }, qty: 1, sku: 'A' } });
    const c = await fingerprint({ ...base, body: '{ "qty": 1, "meta": {"y":[1,2],"x":1}, "sku": "A" }' });
    expect(a).toBe(b);
    expect(a).toBe(c);
    expect(a).toMatch(/^v1:[0-9a-f]{16}$/);
  });

  it('differs for a different body, method, scope, path or query value', async () => {
    const reference = await fingerprint({ ...base, body: { qty: 1 } });
    const variants = [
      { ...base, body: { qty: 2 } },
      { ...base, body: [1] },
      { ...base, method: 'PATCH', body: { qty: 1 } },
      { ...base, scope: 'user-2', body: { qty: 1 } },
      { ...base, ifMatch: '"3"', body: { qty: 1 } },
      { ...base, ifMatch: '"4"', body: { qty: 1 } },
      { ...base, url: 'https://shop.test/orders?b=2&a=9', body: { qty: 1 } },
      { ...base, url: 'https://shop.test/carts?b=2&a=1', body: { qty: 1 } },
      { ...base, url: 'https://other.test/orders?b=2&a=1', body: { qty: 1 } },
    ];
    const prints = await Promise.all(variants.map((variant) => fingerprint(variant)));
    for (const print of prints) expect(print).not.toBe(reference);
    expect(new Set(prints).size).toBe(prints.length);
  });

  it('does not depend on query parameter order or the fragment (the URL is normalised)', async () => {
    expect(await fingerprint({ ...base, url: 'https://shop.test/orders?a=1&b=2#top' })).toBe(await fingerprint(base));
    expect(normaliseUrl('https://SHOP.test/orders?z=1&a=2&a=1')).toBe('https://shop.test/orders?a=2&a=1&z=1');
    // An empty query or fragment is none (`search` and `hash` read '' for both).
    for (const url of ['https://shop.test/orders?', 'https://shop.test/orders#', 'https://shop.test/orders?#', 'https://shop.test/orders#x?a=1']) {
      expect(normaliseUrl(url)).toBe('https://shop.test/orders');
    }
  });

  it('treats method case and scope undefined consistently', () => {
    expect(fingerprintOf({ method: 'post', url: '/x' })).toBe(fingerprintOf({ method: 'POST', url: '/x', scope: undefined }));
  });

  it('canonicalises URLSearchParams, FormData, bytes and Blob bodies', async () => {
    const form1 = new URLSearchParams('b=2&a=1');
    const form2 = new URLSearchParams('a=1&b=2');
    expect(await fingerprint({ ...base, body: form1 })).toBe(await fingerprint({ ...base, body: form2 }));

    const fd = (value: string) => {
      const data = new FormData();
      data.append('file', new Blob([value], { type: 'text/plain' }), 'a.txt');
      data.append('note', 'hi');
      return data;
    };
    expect(await fingerprint({ ...base, body: fd('one') })).toBe(await fingerprint({ ...base, body: fd('one') }));
    expect(await fingerprint({ ...base, body: fd('one') })).not.toBe(await fingerprint({ ...base, body: fd('two') }));

    const bytes = new TextEncoder().encode('payload');
    const fromBytes = await fingerprint({ ...base, body: bytes });
    expect(await fingerprint({ ...base, body: bytes.buffer })).toBe(fromBytes);
    expect(await fingerprint({ ...base, body: new Blob(['payload']) })).not.toBe(
      await fingerprint({ ...base, body: new Blob(['other']) }),
    );
  });

  it('reads a Request body without consuming the Request', async () => {
    const request = new Request('https://shop.test/orders', { method: 'POST', body: '{"b":1,"a":2}' });
    const fromRequest = await fingerprint(request);
    expect(await request.text()).toBe('{"b":1,"a":2}');
    expect(fromRequest).not.toBe(await fingerprint({ method: 'POST', url: 'https://shop.test/orders', body: 'other' }));
  });

  it('fingerprints the intent its prepare() just did without reading the body text again, and only that intent', () => {
    const text = (qty: number) => JSON.stringify({ sku: 'A', qty });
    const parse = vi.spyOn(JSON, 'parse');
    try {
      const first = fingerprintOf({ ...base, body: text(1) });
      // An equal text (a new string, as a click builds it again): read once.
      expect(fingerprintOf({ ...base, body: text(1) })).toBe(first);
      expect(parse).toHaveBeenCalledTimes(1);
      // The same body under another scope, method or URL, or as a form, is another intent.
      const others = [
        fingerprintOf({ ...base, scope: 'user-2', body: text(1) }),
        fingerprintOf({ ...base, method: 'PATCH', body: text(1) }),
        fingerprintOf({ ...base, url: '/carts', body: text(1) }),
        fingerprintOf({ ...base, body: 'qty=1' }),
        fingerprintOf({ ...base, body: new URLSearchParams('qty=1') }),
      ];
      expect(new Set([first, ...others]).size).toBe(6);
      // Each right after the same intent, so only that one part differs from the last one kept.
      for (const other of [{ method: 'PATCH' }, { url: '/carts' }, { scope: 'user-2' }, { ifMatch: '"3"' }]) {
        expect(fingerprintOf({ ...base, body: text(1) })).toBe(first);
        expect(fingerprintOf({ ...base, ...other, body: text(1) })).not.toBe(first);
      }
      // A conditional intent is kept too, its condition with it.
      const conditional = fingerprintOf({ ...base, ifMatch: '"3"', body: text(1) });
      expect(fingerprintOf({ ...base, ifMatch: '"3"', body: text(1) })).toBe(conditional);
      expect(fingerprintOf({ ...base, ifMatch: '"4"', body: text(1) })).not.toBe(conditional);
      expect(fingerprintOf({ ...base, body: text(2) })).not.toBe(first);
      expect(fingerprintOf({ ...base, body: text(1) })).toBe(first);
    } finally {
      parse.mockRestore();
    }
    // A refused body is refused each time, not remembered.
    const deep = `${'['.repeat(200)}${']'.repeat(200)}`;
    expect(() => fingerprintOf({ ...base, body: deep })).toThrow(InvalidRequestError);
    expect(() => fingerprintOf({ ...base, body: deep })).toThrow(InvalidRequestError);
  });

  it('refuses what it cannot fingerprint with typed errors', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(fingerprint({ ...base, body: cyclic })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(fingerprint({ ...base, body: new ReadableStream() })).rejects.toBeInstanceOf(UnreplayableBodyError);
    const { Readable } = await import('node:stream');
    await expect(fingerprint({ ...base, body: Readable.from(['a']) })).rejects.toBeInstanceOf(UnreplayableBodyError);
    await expect(fingerprint({ method: '', url: '/x' })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(fingerprint({ method: 'POST', url: 'http://[bad' })).rejects.toBeInstanceOf(InvalidRequestError);
  });

  it("reads the page's URL once for a URL its path plays no part in, and still resolves the rest against it", () => {
    let reads = 0;
    let href = 'https://shop.test/cart';
    const page = {
      get href() {
        reads += 1;
        return href;
      },
    };
    try {
      vi.stubGlobal('location', page);
      expect(normaliseUrl('/orders/once')).toBe('https://shop.test/orders/once');
      const afterFirst = reads;
      // A router's navigation: the same page, another path.
      href = 'https://shop.test/account/settings';
      expect(normaliseUrl('/orders/once')).toBe('https://shop.test/orders/once');
      expect(reads).toBe(afterFirst);
      // Relative to the page's path, or its query: read and resolved each time.
      expect(normaliseUrl('orders/once')).toBe('https://shop.test/account/orders/once');
      href = 'https://shop.test/basket/';
      expect(normaliseUrl('orders/once')).toBe('https://shop.test/basket/orders/once');
      expect(normaliseUrl('?page=2')).toBe('https://shop.test/basket/?page=2');
      // Spelled like a path but another host to the URL parser.
      expect(normaliseUrl('/\\cdn.test/x')).toBe('https://cdn.test/x');
      expect(reads).toBeGreaterThan(afterFirst);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it('resolves a relative URL against the page it is sent from, each time', () => {
    try {
      vi.stubGlobal('location', { href: 'https://shop.test/cart' });
      expect(normaliseUrl('/orders')).toBe('https://shop.test/orders');
      expect(normaliseUrl('/orders')).toBe('https://shop.test/orders');
      // The same relative URL from another page (a router's navigation, another origin's frame).
      vi.stubGlobal('location', { href: 'https://other.test/a/b' });
      expect(normaliseUrl('/orders')).toBe('https://other.test/orders');
      expect(normaliseUrl('orders')).toBe('https://other.test/a/orders');
      expect(normaliseUrl('/orders?b=2&a=1')).toBe('https://other.test/orders?a=1&b=2');
      expect(normaliseUrl('/orders')).toBe('https://other.test/orders');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
