/**
 * A page's own fetch(FormData), no SDK: Chromium picks a new random multipart boundary at
 * every send, so the retry of one upload under one key was another payload to the
 * verifier (422 key-reused) while the first upload had run. The verifier compares a
 * multipart body by its parts: the retry is replayed, and another upload is still 422.
 */
import { expect, test } from './support/test.js';

test("a page's own fetch(FormData) sent again under its key (a new boundary): replayed, the upload ran once; another file is 422", async ({ page, orders }) => {
  await page.goto(orders.page());
  const types: string[] = [];
  page.on('request', (request) => {
    if (request.method() === 'POST') types.push(request.headers()['content-type'] ?? '');
  });
  const answers = await page.evaluate(async (path) => {
    const send = async (photo: number[]) => {
      const form = new FormData();
      form.append('caption', 'holiday');
      form.append('photo', new File([new Uint8Array(photo)], 'p.jpg', { type: 'image/jpeg' }));
      const response = await fetch(path, { method: 'POST', headers: { 'Idempotency-Key': 'own-form-data-1' }, body: form });
      return { status: response.status, replayed: response.headers.get('idempotent-replayed'), body: await response.text() };
    };
    return [await send([0, 1, 13, 10, 255]), await send([0, 1, 13, 10, 255]), await send([0, 1, 13, 10, 254])];
  }, `/api/verified-orders?lane=${orders.lane}`);

  const [first, retry, other] = answers;
  expect(first?.status).toBe(201);
  expect(retry).toEqual({ ...first, replayed: 'true' });
  expect(other?.status).toBe(422);
  expect(other?.replayed).toBeNull();
  const log = await orders.log();
  expect(log).toHaveLength(1);
  expect(log[0]?.form).toEqual({ caption: 'holiday', photo: 'p.jpg (image/jpeg): \u0000\u0001\r\n\ufffd' });
  // Chromium's own boundaries, one per send.
  expect(types).toHaveLength(3);
  expect(new Set(types).size).toBe(3);
  for (const type of types) expect(type).toMatch(/^multipart\/form-data; boundary=----WebKitFormBoundary/);
});
