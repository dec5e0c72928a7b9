/** Where Playwright starts the demo shop: its own port, so a `npm run demo` on 5173 can stay up. */
export const DEMO_E2E_PORT = Number(process.env.DEMO_E2E_PORT ?? 5180);
export const DEMO_ORIGIN = `http://localhost:${DEMO_E2E_PORT}`;
