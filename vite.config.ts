import { builtinModules } from 'node:module';
import { defineConfig } from 'vitest/config';

/** Every public entry, by its subpath. Browser entries and the Node-only server share one build. */
const entries: Record<string, string> = {
  index: 'src/index.ts',
  fetch: 'src/fetch/index.ts',
  axios: 'src/axios/index.ts',
  react: 'src/react/index.ts',
  dom: 'src/dom/index.ts',
  tokens: 'src/tokens/index.ts',
  preconditions: 'src/preconditions/index.ts',
  outbox: 'src/outbox/index.ts',
  sw: 'src/sw/index.ts',
  server: 'src/server/index.ts',
  'server-bin': 'src/server/bin.ts',
};

/** Test options shared by the projects below. */
const unitTest = {
  include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
  environment: 'node',
  restoreMocks: true,
  testTimeout: 15_000,
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
      external: (id) => nodeBuiltins.has(id) || /^(axios|react|react-dom|ioredis|pg|amqplib)(\/|$)/.test(id),
    },
  },
  test: {
    projects: [
      // Every test, against the installed React (19).
      { test: { ...unitTest, name: 'unit', env: { REACT_MAJOR: '19' } } },
      // The React tests again, against React 18 (installed as `react18` and `react-dom18`).
      {
        resolve: {
          alias: [
            { find: /^react(\/.*)?$/, replacement: 'react18$1' },
            { find: /^react-dom(\/.*)?$/, replacement: 'react-dom18$1' },
          ],
        },
        test: {
          ...unitTest,
          name: 'react18',
          include: ['test/react/**/*.test.tsx'],
          env: { REACT_MAJOR: '18' },
          // React DOM 18's own require('react') goes through Node, not the alias.
          setupFiles: ['test/react/react18-setup.ts'],
          // Transformed, so its imports of react and react-dom take the alias.
          server: { deps: { inline: ['@testing-library/react'] } },
        },
      },
    ],
  },
});
