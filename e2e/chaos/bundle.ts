/**
 * Builds the chaos page entry (which imports the SDK from `src/`) with Vite's JS API, in
 * memory, the way `e2e/server/bundle.ts` builds the e2e fixtures: the page runs the kind of
 * bundle a user's app would.
 */
import { fileURLToPath } from 'node:url';
import { build, type Rolldown } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** Output file name (`chaos.js`, `chunks/…`) -> code. */
export async function bundleChaosPage(): Promise<Map<string, string>> {
  const result = await build({
    configFile: false,
    root,
    logLevel: 'warn',
    build: {
      write: false,
      minify: false,
      sourcemap: 'inline',
      target: 'es2022',
      modulePreload: false,
      copyPublicDir: false,
      rolldownOptions: {
        input: { chaos: 'e2e/chaos/page.ts' },
        output: { format: 'es', entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
      },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[];
  const files = new Map<string, string>();
  for (const output of outputs) {
    if (!('output' in output)) throw new Error('unexpected Vite build result (watch mode?)');
    for (const item of output.output) {
      files.set(item.fileName, item.type === 'chunk' ? item.code : typeof item.source === 'string' ? item.source : Buffer.from(item.source).toString('utf8'));
    }
  }
  return files;
}
