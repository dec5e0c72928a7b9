/**
 * Setup for the `react18` vitest project (vite.config.ts), which runs test/react against
 * React 18 installed under the aliases `react18` and `react-dom18`.
 *
 * The project's `resolve.alias` redirects `react` and `react-dom` for code vite transforms
 * (tests, src, @testing-library/react). React DOM 18 itself is CommonJS loaded by Node:
 * its own `require('react')` and `react-dom/client`'s `require('react-dom')` would find
 * React 19 at the top of node_modules (npm puts a peer there). This maps those requests to
 * the aliases in Node's resolver too, so the run holds one React, and it is 18.
 */
import Module from 'node:module';

type ResolveFilename = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: ResolveFilename & { react18?: true } };

if (!loader._resolveFilename.react18) {
  const resolve = loader._resolveFilename;
  const toReact18: ResolveFilename & { react18?: true } = function (this: unknown, request, ...rest) {
    const match = /^(react|react-dom)(\/.*)?$/.exec(request);
    return resolve.call(this, match ? `${match[1]}18${match[2] ?? ''}` : request, ...rest);
  };
  toReact18.react18 = true;
  loader._resolveFilename = toReact18;
}
