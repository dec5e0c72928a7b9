/**
 * In real Chromium: values JSON writes as `{}` (a File inside the hook's input, a Map, an
 * ArrayBuffer) are fingerprinted by their content, so two different photos are two intents
 * and the same photo, read again, one; a RegExp is refused with InvalidRequestError.
 */
import { expect, test } from './support/test.js';

test('a File, a Map or an ArrayBuffer inside the body: fingerprinted by content; a RegExp refused', async ({ page, orders }) => {
  await page.goto(orders.page());
  const result = await page.evaluate(async () => {
    const upload = (body: unknown) => window.so.fingerprint({ method: 'ACTION', url: 'submit-once:action/upload', body });
    const photo = (bytes: string, name: string) => ({ photo: new File([bytes], name, { type: 'image/jpeg' }), caption: 'x' });
    let refused = '';
    try {
      await upload({ rule: /a/ });
    } catch (error) {
      refused = `${(error as Error).name}: ${(error as Error).message}`;
    }
    return {
      photos: [await upload(photo('A', 'a.jpg')), await upload(photo('B', 'b.jpg')), await upload(photo('A', 'a.jpg'))],
      maps: [await upload({ m: new Map([['a', 1], ['b', 2]]) }), await upload({ m: new Map([['b', 2], ['a', 1]]) }), await upload({ m: new Map([['a', 9]]) })],
      buffers: [await upload({ d: new Uint8Array([1]).buffer }), await upload({ d: new Uint8Array([2]).buffer })],
      refused,
    };
  });
  expect(result.photos[0]).not.toBe(result.photos[1]);
  expect(result.photos[2]).toBe(result.photos[0]);
  expect(result.maps[1]).toBe(result.maps[0]);
  expect(result.maps[2]).not.toBe(result.maps[0]);
  expect(result.buffers[0]).not.toBe(result.buffers[1]);
  expect(result.refused).toMatch(/^InvalidRequestError: .*body\.rule \(RegExp\)/);
});
