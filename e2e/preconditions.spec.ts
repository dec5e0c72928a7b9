/**
 * Optimistic concurrency end to end (issue 13): two tabs edit one order through
 * `createIfMatchFetch(idempotentFetch)` against the real verifier and the built-in API's
 * `PATCH /orders/:id` (If-Match required). Updates are counted at the handler.
 */
import { expect, test, type Page } from '@playwright/test';
import { startTokenServer, type TokenServer } from './tokens/server.js';

test.describe.configure({ mode: 'serial' });

let server: TokenServer;
let orderPath = '';

test.beforeAll(async () => {
  test.setTimeout(120_000);
  server = await startTokenServer();
});
test.afterAll(() => server?.close());
test.beforeEach(async () => {
  await server.verifier.reset();
  server.executions.length = 0;
  const token = (await (await fetch(`${server.origin}/__submit-once/token`)).json()) as { token: string };
  const created = await fetch(`${server.origin}/orders`, {
    method: 'POST',
    body: JSON.stringify({ item: 'tea', qty: 1 }),
    headers: { 'content-type': 'application/json', 'Idempotency-Key': token.token },
  });
  orderPath = `/orders/${((await created.json()) as { id: string }).id}`;
});

async function open(page: Page): Promise<void> {
  await page.goto(server.origin);
  await page.waitForFunction(() => 'setupTokensPage' in window);
  await page.evaluate(() => window.setupTokensPage({ eager: false }));
}

/** Updates applied, read off the stored order (each moves its version by one). */
const updates = () => server.api.orders()[0]!.version - 1;
/** Times the handler ran for a PATCH (a refused one included; a replay never reaches it). */
const patchRuns = () => server.executions.filter((e) => e === `PATCH ${orderPath}`).length;

test('two tabs edit one order: the second save gets "changed by someone else" with the current version', async ({ context }) => {
  const [a, b] = [await context.newPage(), await context.newPage()];
  await open(a);
  await open(b);
  for (const tab of [a, b]) expect(await tab.evaluate((p) => window.tokensPage.read(p), orderPath)).toMatchObject({ status: 200, body: { version: 1 } });
  const saved = await a.evaluate((p) => window.tokensPage.update(p, { qty: 2 }), orderPath);
  expect(saved).toMatchObject({ status: 200, body: { qty: 2, version: 2 } });
  const stale = await b.evaluate((p) => window.tokensPage.update(p, { qty: 5 }), orderPath);
  expect(stale).toEqual({
    error: { name: 'PreconditionFailedError', code: 'precondition-failed', etag: '"2"', current: expect.objectContaining({ qty: 2, version: 2 }) },
  });
  expect(updates()).toBe(1);
  expect(server.api.orders()[0]).toMatchObject({ qty: 2, version: 2 });
  // Tab B reads again and saves its edit over what it now sees. (The very same body again
  // inside the settle window would get the 412 back: If-Match is not part of the intent.)
  await b.evaluate((p) => window.tokensPage.read(p), orderPath);
  expect(await b.evaluate((p) => window.tokensPage.update(p, { qty: 6 }), orderPath)).toMatchObject({ status: 200, body: { qty: 6, version: 3 } });
});

test('a retry of an update that already succeeded gets the replay, not a 412; the update ran once', async ({ page }) => {
  await open(page);
  await page.evaluate((p) => window.tokensPage.read(p), orderPath);
  const ifMatch: string[] = [];
  let lost = false;
  await page.route(`**${orderPath}`, async (route) => {
    if (route.request().method() !== 'PATCH') return route.continue();
    ifMatch.push(route.request().headers()['if-match'] ?? '');
    if (lost) return route.continue();
    // The server applies the update; its answer never reaches the page.
    lost = true;
    await route.fetch();
    return route.abort('connectionreset');
  });
  const answer = await page.evaluate((p) => window.tokensPage.update(p, { qty: 4 }), orderPath);
  expect(answer).toMatchObject({ status: 200, replayed: true, body: { qty: 4, version: 2 } });
  expect(ifMatch).toEqual(['"1"', '"1"']);
  expect(updates()).toBe(1);
  expect(patchRuns()).toBe(1);
});

test('an update without If-Match (no version read) is refused with 428 and changes nothing', async ({ page }) => {
  await open(page);
  const blind = await page.evaluate((p) => window.tokensPage.update(p, { qty: 9 }), orderPath);
  expect(blind).toMatchObject({ status: 428, body: { type: 'https://submit-once.dev/problems/precondition-required' } });
  expect(updates()).toBe(0);
  expect(server.api.orders()[0]).toMatchObject({ qty: 1, version: 1 });
});

test('an ETag that reaches the page weak (a compressing proxy) still lets the version read be saved, twice', async ({ page }) => {
  await open(page);
  const ifMatch: string[] = [];
  // As nginx's gzip or `compression` hand the page the origin's strong tag of the version.
  await page.route(`**${orderPath}`, async (route) => {
    const response = await route.fetch();
    if (route.request().method() === 'PATCH') ifMatch.push(route.request().headers()['if-match'] ?? '');
    const etag = response.headers()['etag'];
    return route.fulfill({ response, headers: { ...response.headers(), ...(etag === undefined ? {} : { etag: `W/${etag}` }) } });
  });
  await page.evaluate((p) => window.tokensPage.read(p), orderPath);
  // Before: PreconditionFailedError naming as current the very version the page read.
  expect(await page.evaluate((p) => window.tokensPage.update(p, { qty: 2 }), orderPath)).toMatchObject({ status: 200, body: { qty: 2, version: 2 } });
  expect(await page.evaluate((p) => window.tokensPage.update(p, { qty: 3 }), orderPath)).toMatchObject({ status: 200, body: { qty: 3, version: 3 } });
  expect(ifMatch).toEqual(['"1"', '"2"']);
  expect(updates()).toBe(2);
});
