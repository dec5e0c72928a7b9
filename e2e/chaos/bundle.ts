/** The chaos page entry (the real SDK from `src/`), bundled in memory like the e2e fixtures. */
import { bundleBrowserEntries } from '../support/bundle.js';

/** Output file name (`chaos.js`, `chunks/…`) -> code. */
export function bundleChaosPage(): Promise<Map<string, string>> {
  return bundleBrowserEntries({ chaos: 'e2e/chaos/page.ts' });
}
