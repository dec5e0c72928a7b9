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
};

export interface Bundle {
  /** File name (`app.js`, `chunks/…`) -> code. */
  files: Map<string, string>;
}

export async function bundleFixtures(): Promise<Bundle> {
  const input = Object.fromEntries(Object.entries(ENTRIES).filter(([, file]) => existsSync(`${root}/${file}`)));
  return { files: await bundleBrowserEntries(input) };
}
