import { existsSync } from 'node:fs';
import { defineConfig, type PlaywrightTestConfig } from '@playwright/test';
import { E2E_PORT, NON_SECURE_HOST, SECURE_ORIGIN } from './e2e/support/env.js';
import { DEMO_E2E_PORT, DEMO_ORIGIN } from './e2e/demo/env.js';

type WebServer = Extract<NonNullable<PlaywrightTestConfig['webServer']>, readonly unknown[]>[number];
type Project = NonNullable<PlaywrightTestConfig['projects']>[number];

/**
 * The system Chromium where there is one (CI images, Debian), since Playwright's own
 * download may be impossible there; elsewhere Playwright's bundled browser.
 */
function chromiumPath(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv) return fromEnv;
  return existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined;
}

const executablePath = chromiumPath();

const launchOptions = {
  ...(executablePath ? { executablePath } : {}),
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    // Plain http on a name that is not loopback: a non-secure context, for the specs that
    // check the fallbacks for crypto.randomUUID, crypto.subtle and navigator.locks.
    `--host-resolver-rules=MAP ${NON_SECURE_HOST} 127.0.0.1`,
  ],
};

/** Servers Playwright starts before the tests and stops after. The demo appends its own. */
export const webServers: WebServer[] = [
  {
    name: 'e2e',
    command: 'node --import tsx e2e/server/main.ts',
    url: `${SECURE_ORIGIN}/__health`,
    env: { E2E_PORT: String(E2E_PORT) },
    // A server left over from another run would serve a stale SDK bundle: start fresh.
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 2_000 },
  },
  {
    name: 'demo',
    command: 'node --import tsx demo/server.ts',
    url: `${DEMO_ORIGIN}/api/faults`,
    env: { DEMO_PORT: String(DEMO_E2E_PORT) },
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'pipe',
    stderr: 'pipe',
    gracefulShutdown: { signal: 'SIGTERM', timeout: 2_000 },
  },
];

/** One project per app under test; the demo adds one with `testDir: 'e2e/demo'`. */
export const projects: Project[] = [
  {
    name: 'sdk',
    testIgnore: 'demo/**',
    use: { browserName: 'chromium', headless: true, baseURL: SECURE_ORIGIN, launchOptions },
  },
  {
    name: 'demo',
    testDir: 'e2e/demo',
    // One demo server, one set of orders and faults: its specs run one at a time, and so
    // do its spec files (each resets the server).
    fullyParallel: false,
    workers: 1,
    // The page is served by Vite in dev mode (~45 modules per load): on a loaded CI box a
    // load alone can take seconds, so these budgets are wider than the SDK specs'.
    timeout: 60_000,
    expect: { timeout: 10_000 },
    use: {
      browserName: 'chromium',
      headless: true,
      baseURL: DEMO_ORIGIN,
      launchOptions,
      navigationTimeout: 30_000,
      actionTimeout: 15_000,
    },
  },
];

export default defineConfig({
  testDir: 'e2e',
  testMatch: '**/*.spec.ts',
  fullyParallel: true,
  workers: 2,
  retries: 0,
  forbidOnly: Boolean(process.env.CI),
  timeout: 20_000,
  expect: { timeout: 5_000 },
  reporter: [['list']],
  outputDir: 'test-results/e2e',
  use: { trace: 'retain-on-failure', actionTimeout: 5_000, navigationTimeout: 10_000 },
  webServer: webServers,
  projects,
});
