/**
 * The fingerprint's URL in a window, whose `location` is unforgeable (a non-configurable
 * own property, as in a browser). Its own file: that property cannot be removed after,
 * and each test file runs in a fresh global.
 */
import { describe, expect, it } from 'vitest';
import { normaliseUrl } from '../../src/core/fingerprint.js';

describe("the fingerprint's URL in a window", () => {
  it('reads the window\'s location once for a URL its path plays no part in, and still resolves the rest against the page', () => {
    let reads = 0;
    let href = 'https://shop.test/cart';
    const location = {
      get href() {
        return href;
      },
    };
    Object.defineProperty(globalThis, 'location', {
      configurable: false,
      enumerable: true,
      get: () => {
        reads += 1;
        return location;
      },
    });
    expect(normaliseUrl('/orders/once')).toBe('https://shop.test/orders/once');
    const afterFirst = reads;
    // A router's navigation: the same window, another path. The memo reads nothing.
    href = 'https://shop.test/account/settings';
    expect(normaliseUrl('/orders/once')).toBe('https://shop.test/orders/once');
    expect(normaliseUrl('/orders/once')).toBe('https://shop.test/orders/once');
    expect(reads).toBe(afterFirst);
    // Relative to the page's path: resolved against the page's URL each time.
    expect(normaliseUrl('orders/once')).toBe('https://shop.test/account/orders/once');
    href = 'https://shop.test/basket/';
    expect(normaliseUrl('orders/once')).toBe('https://shop.test/basket/orders/once');
    // Back to the path-free URL, another one, then the first again: each resolved right.
    expect(normaliseUrl('/orders/once')).toBe('https://shop.test/orders/once');
    expect(normaliseUrl('https://api.test/orders?b=2&a=1')).toBe('https://api.test/orders?a=1&b=2');
    expect(normaliseUrl('/orders/once')).toBe('https://shop.test/orders/once');
  });
});
