/** Browser entry for the README recipes that need a browser: ky 2 (Node 22 only) with submit-once's fetch. */
import ky from 'ky2';
import { idempotentFetch } from '../../src/fetch/index.js';

declare global {
  interface Window {
    recipes: { ky2(path: string, body: unknown): Promise<unknown> };
  }
}

window.recipes = {
  async ky2(path, body) {
    // --- the recipe (README, "Recipes: ky"), ky 2: `baseUrl` where ky 1 had `prefixUrl` ---
    const api = ky.create({ baseUrl: '/express-idempotency/', fetch: idempotentFetch, retry: 0 });
    return api.post(path, { json: body }).json();
    // --- end ---
  },
};
