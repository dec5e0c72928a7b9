/**
 * In real Chromium: values JSON writes as `{}` (a File inside the hook's input, a file
 * input's FileList, a Map, an ArrayBuffer) are fingerprinted by their content, so two different photos are two intents
 * and the same photo, read again, one; a RegExp or a DOM node is refused with InvalidRequestError.
 */
import { expect, test } from './support/test.js';

test('a File, a FileList, a Map or an ArrayBuffer inside the body: fingerprinted by content; a RegExp or a DOM node refused', async ({ page, orders }) => {
  await page.goto(orders.page());
  const result = await page.evaluate(async () => {
    const upload = (body: unknown) => window.so.fingerprint({ method: 'ACTION', url: 'submit-once:action/upload', body });
    const photo = (bytes: string, name: string) => ({ photo: new File([bytes], name, { type: 'image/jpeg' }), caption: 'x' });
    const refusal = (body: unknown) =>
      upload(body).then(
        () => 'accepted',
        (error: Error) => `${error.name}: ${error.message}`,
      );
    const refused = [await refusal({ rule: /a/ }), await refusal({ target: document.createElement('div') })];
    return {
      photos: [await upload(photo('A', 'a.jpg')), await upload(photo('B', 'b.jpg')), await upload(photo('A', 'a.jpg'))],
      maps: [await upload({ m: new Map([['a', 1], ['b', 2]]) }), await upload({ m: new Map([['b', 2], ['a', 1]]) }), await upload({ m: new Map([['a', 9]]) })],
      buffers: [await upload({ d: new Uint8Array([1]).buffer }), await upload({ d: new Uint8Array([2]).buffer })],
      // A file input's `files`: none chosen (no members, JSON's {}), one file, another.
      lists: await Promise.all(
        [[], ['A'], ['B']].map((contents) => {
          const transfer = new DataTransfer();
          for (const bytes of contents) transfer.items.add(new File([bytes], 'p.jpg'));
          return upload({ files: transfer.files, caption: 'x' });
        }),
      ),
      refused,
    };
  });
  expect(result.photos[0]).not.toBe(result.photos[1]);
  expect(result.photos[2]).toBe(result.photos[0]);
  expect(result.maps[1]).toBe(result.maps[0]);
  expect(result.maps[2]).not.toBe(result.maps[0]);
  expect(result.buffers[0]).not.toBe(result.buffers[1]);
  expect(new Set(result.lists).size).toBe(3);
  expect(result.refused[0]).toMatch(/^InvalidRequestError: .*body\.rule \(RegExp\)/);
  expect(result.refused[1]).toMatch(/^InvalidRequestError: .*body\.target \(HTMLDivElement\)/);
});
