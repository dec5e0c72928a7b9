/**
 * `useIdempotentSubmit`'s `formProps` and `formAction` hand the action a FormData. Sent
 * as is under the hook's key, each retry gets a new random multipart boundary, another
 * payload to a server that compares bytes (the verifier's 422 to the retry of an order
 * whose answer was lost). README's pattern: send it through the fetch wrapper under the
 * hook's key with `retry: false`; the wrapper encodes it under the key, so every attempt
 * is the same bytes. Real Chromium, to the real verifier, counted at the origin.
 */
import { expect, test } from './support/test.js';

for (const how of ['formProps', 'formAction'] as const) {
  test(`React ${how}, the action sending the FormData through the fetch wrapper under the hook's key, first answer lost: the hook's retry is the same bytes, replayed; the order ran once`, async ({ page, orders }) => {
    await page.goto(orders.page(undefined, '/react-lab.html'));
    await page.evaluate(
      ([url, as]) => (window as unknown as { mountOrderForm: (url: string, how: string) => void }).mountOrderForm(url, as),
      [`/api/verified-orders?lane=${orders.lane}`, how] as const,
    );
    await page.getByLabel('receipt').setInputFiles({ name: 'receipt.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4 receipt') });
    const sent: string[] = [];
    await page.route((url) => url.pathname === '/api/verified-orders', async (route) => {
      const request = route.request();
      sent.push(`${await request.headerValue('content-type')}\n${request.postDataBuffer()?.toString('latin1')}`);
      if (sent.length > 1) return route.continue();
      await route.fetch();
      return route.abort('connectionreset');
    });
    await page.getByRole('button', { name: 'Buy' }).click();

    await expect.poll(() => page.evaluate(() => (window as unknown as { results: unknown[] }).results)).toEqual([{ status: 201, replayed: 'true' }]);
    expect(await orders.arrivals()).toBe(2);
    const log = await orders.log();
    expect(log).toHaveLength(1);
    expect(log[0]?.form).toEqual({ sku: 'F-9', receipt: 'receipt.pdf (application/pdf): %PDF-1.4 receipt' });
    expect(sent).toHaveLength(2);
    expect(sent[1]).toBe(sent[0]);
  });
}
