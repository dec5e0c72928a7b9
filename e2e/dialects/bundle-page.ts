/** Bundles a page entry of e2e/dialects/ (the SDK from `src/`, axios, ky 2) into one script, in memory. */
import { bundleBrowserEntries } from '../support/bundle.js';

export async function bundleDialectsPage(entry = 'e2e/dialects/page.ts'): Promise<string> {
  const files = await bundleBrowserEntries({ page: entry });
  // The spec serves this one script: a second chunk would have nowhere to load from.
  if (files.size !== 1 || !files.has('page.js')) throw new Error(`expected one chunk, got ${[...files.keys()].join(', ')}`);
  return files.get('page.js')!;
}
