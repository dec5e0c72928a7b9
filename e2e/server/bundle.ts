/** The e2e fixture pages (which import the SDK from `src/`), bundled once, in memory. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleBrowserEntries } from '../support/bundle.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Entry name -> source, relative to the repository root. */
const ENTRIES: Record<string, string> = {
  app: 'e2e/fixtures/app.ts',
  'axios-app': 'e2e/fixtures/axios-app.ts',
  guards: 'e2e/fixtures/guards.ts',
  'guard-lab': 'e2e/fixtures/guard-lab.ts',
  'guards-outbox': 'e2e/fixtures/guards-outbox.ts',
  'outbox-app': 'e2e/fixtures/outbox-app.ts',
  'react-lab': 'e2e/fixtures/react-lab.ts',
};

/** Built on its own: a service worker script cannot import the pages' shared chunks. */
const SERVICE_WORKER = { 'outbox-sw': 'e2e/fixtures/outbox-sw.ts' };

export interface Bundle {
  /** File name (`app.js`, `chunks/…`) -> code. */
  files: Map<string, string>;
}

export async function bundleFixtures(): Promise<Bundle> {
  const input = Object.fromEntries(Object.entries(ENTRIES).filter(([, file]) => existsSync(`${root}/${file}`)));
  const files = await bundleBrowserEntries(input);
  for (const [name, code] of await bundleBrowserEntries(SERVICE_WORKER)) files.set(name, code);
  return { files };
}
