/**
 * Builds browser entries (which import the SDK from `src/`) with Vite's JS API, in memory:
 * a build rather than a dev server (no HMR socket, no host check), so a test page runs the
 * kind of bundle a user's app would. Shared by the e2e server, the chaos page and the
 * dialect pages.
 */
import { fileURLToPath } from 'node:url';
import { build, type Rolldown } from 'vite';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * @param input entry name -> source file, relative to the repository root
 * @returns output file name (`<entry>.js`, `chunks/…`) -> code
 */
export async function bundleBrowserEntries(input: Record<string, string>): Promise<Map<string, string>> {
  const result = await build({
    configFile: false,
    root,
    logLevel: 'warn',
    // The repository's vite.config.ts is the library build; these pages are an app.
    build: {
      write: false,
      minify: false,
      sourcemap: 'inline',
      target: 'es2022',
      modulePreload: false,
      copyPublicDir: false,
      rolldownOptions: {
        input,
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
