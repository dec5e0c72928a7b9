import { builtinModules } from 'node:module';
import { defineConfig } from 'vitest/config';

/** Every public entry, by its subpath. Browser entries and the Node-only server share one build. */
const entries: Record<string, string> = {
  index: 'src/index.ts',
  fetch: 'src/fetch.ts',
  axios: 'src/axios.ts',
  react: 'src/react/index.ts',
  dom: 'src/dom.ts',
  server: 'src/server/index.ts',
  'server-bin': 'src/server/bin.ts',
};

const nodeBuiltins = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);

export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
    target: 'es2022',
    lib: { entry: entries, formats: ['es'] },
    rollupOptions: {
      // Dependencies and peers stay imports: the user's bundler de-duplicates them.
      external: (id) => nodeBuiltins.has(id) || /^(idb-keyval|axios|react|react-dom|ioredis)(\/|$)/.test(id),
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    environment: 'node',
    restoreMocks: true,
    testTimeout: 15_000,
  },
});
