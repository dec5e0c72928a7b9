/**
 * The specs' `test`: Playwright's, plus a `lane` of the e2e server of their own (so specs
 * can run in parallel against one server) and an `orders` handle to steer and read it.
 */
import { test as base, expect, type APIRequestContext } from '@playwright/test';
import { SECURE_ORIGIN } from './env.js';
import type { Action, LoggedRequest } from './protocol.js';

export class OrdersServer {
  constructor(
    private readonly request: APIRequestContext,
    readonly lane: string,
  ) {}

  /** The orders endpoint of this lane, relative to the page's origin. */
  get path(): string {
    return `/api/orders?lane=${this.lane}`;
  }

  /** A page of the fixture app on `origin`, in this lane. */
  page(origin = SECURE_ORIGIN, page = '/app.html'): string {
    return `${origin}${page}?lane=${this.lane}`;
  }

  async plan(plan: Action[], fallback: Action = { kind: 'ok' }): Promise<void> {
    await this.#post('/__control', { plan, fallback });
  }

  async log(): Promise<LoggedRequest[]> {
    const response = await this.request.get(`${SECURE_ORIGIN}/__log?lane=${this.lane}`);
    expect(response.ok()).toBe(true);
    return (await response.json()) as LoggedRequest[];
  }

  /** Requests that reached the verifier in front of `/api/verified-orders` (the log holds what ran behind it). */
  async arrivals(): Promise<number> {
    const response = await this.request.get(`${SECURE_ORIGIN}/__arrivals?lane=${this.lane}`);
    expect(response.ok()).toBe(true);
    return (await response.json()) as number;
  }

  async reset(): Promise<void> {
    await this.#post('/__reset', {});
  }

  async #post(path: string, body: unknown): Promise<void> {
    const response = await this.request.post(`${SECURE_ORIGIN}${path}?lane=${this.lane}`, { data: body });
    expect(response.ok(), `${path} answered ${response.status()}`).toBe(true);
  }
}

export const test = base.extend<{ orders: OrdersServer }>({
  orders: async ({ request }, use, testInfo) => {
    const server = new OrdersServer(request, `t${testInfo.testId.replace(/[^a-zA-Z0-9]/g, '')}r${testInfo.retry}`);
    await server.reset();
    await use(server);
    await server.reset();
  },
});

export { expect };

export const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
