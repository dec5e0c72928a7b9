/**
 * Bundles the fixture entries (which import the SDK from `src/`) with Vite's JS API, once,
 * in memory. A build rather than a dev server: no HMR socket, no host check, and the page
 * runs the same kind of bundle a user's app would.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build, type Rolldown } from 'vite';

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
  const result = await build({
    configFile: false,
    root,
    logLevel: 'warn',
    // The repository's vite.config.ts is the library build; the fixtures are an app.
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
      if (item.type === 'chunk') files.set(item.fileName, item.code);
      else files.set(item.fileName, typeof item.source === 'string' ? item.source : Buffer.from(item.source).toString('utf8'));
    }
  }
  return { files };
}
