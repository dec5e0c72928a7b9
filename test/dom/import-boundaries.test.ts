import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeOf, reachableFrom, ROOT as root } from '../helpers/import-graph.js';

const packagesReachableFrom = (entry: string) => reachableFrom(entry).packages;

/** The browser entries of the package (every subpath but `server`). */
const BROWSER_ENTRIES = ['src/index.ts', 'src/fetch/index.ts', 'src/axios/index.ts', 'src/react/index.ts', 'src/dom/index.ts', 'src/tokens/index.ts', 'src/preconditions/index.ts', 'src/outbox/index.ts', 'src/sw/index.ts'];

const isReact = (name: string) => name === 'react' || name === 'react-dom' || name.startsWith('react/');

describe('import boundaries', () => {
  it('no src/core module imports React, directly or through another module', () => {
    const files = readdirSync(join(root, 'src/core')).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      expect([...packagesReachableFrom(join('src/core', file))].filter(isReact), file).toEqual([]);
    }
  });

  it('submit-once/dom reaches no React', () => {
    const reachable = packagesReachableFrom('src/dom/index.ts');
    expect([...reachable].filter(isReact)).toEqual([]);
  });

  it('the scan does see React where it is imported (so the checks above can fail)', () => {
    expect([...packagesReachableFrom('src/react/index.ts')].filter(isReact)).toEqual(['react']);
  });

  it('src/core is the engine only: it reaches nothing but core and protocol (no adapter, no UI)', () => {
    for (const file of readdirSync(join(root, 'src/core')).filter((f) => f.endsWith('.ts'))) {
      const outside = [...reachableFrom(join('src/core', file)).files].filter((f) => !f.startsWith('core/') && !f.startsWith('protocol/'));
      expect(outside, file).toEqual([]);
    }
  });

  it('src/protocol is pure: it imports nothing outside itself, no package, no Node, and names no DOM or Node global', () => {
    const files = readdirSync(join(root, 'src/protocol')).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(4);
    for (const file of files) {
      const { files: reached, packages } = reachableFrom(join('src/protocol', file));
      expect([...packages], file).toEqual([]);
      expect([...reached].filter((f) => !f.startsWith('protocol/')), file).toEqual([]);
      // Code only: the doc comments may mention what the code must not use.
      const code = codeOf(join(root, 'src/protocol', file));
      expect(code.match(/\b(Buffer|process|require|window|document|navigator|localStorage|indexedDB)\b/g), file).toBeNull();
    }
  });

  it('the only source shared by the browser entries and src/server is src/protocol', () => {
    const browser = new Set(BROWSER_ENTRIES.flatMap((entry) => [...reachableFrom(entry).files]));
    const server = reachableFrom('src/server/index.ts').files;
    const shared = [...server].filter((file) => browser.has(file));
    expect(shared.filter((file) => !file.startsWith('protocol/'))).toEqual([]);
    // And the browser side never reaches the server's own code.
    expect([...browser].filter((file) => file.startsWith('server/'))).toEqual([]);
  });

  it('the browser entries do share src/protocol (so the check above looks at real imports)', () => {
    const browser = new Set(BROWSER_ENTRIES.flatMap((entry) => [...reachableFrom(entry).files]));
    expect([...browser].filter((file) => file.startsWith('protocol/')).length).toBeGreaterThan(2);
  });

  it("the outbox's code is only in its own entries: core, fetch, axios and dom reach no src/outbox module, react only its types", () => {
    for (const entry of ['src/index.ts', 'src/fetch/index.ts', 'src/axios/index.ts', 'src/dom/index.ts']) {
      expect([...reachableFrom(entry).files].filter((file) => file.startsWith('outbox/')), entry).toEqual([]);
    }
    // events.ts declares types only (usePendingSubmissions' PendingSubmission).
    expect([...reachableFrom('src/react/index.ts').files].filter((file) => file.startsWith('outbox/'))).toEqual(['outbox/events.ts']);
    expect([...reachableFrom('src/outbox/index.ts').files].filter((file) => file.startsWith('outbox/lib/')).length).toBeGreaterThan(3);
  });

  it('every entry folder has an index.ts that only re-exports', () => {
    for (const entry of [...BROWSER_ENTRIES, 'src/server/index.ts', 'src/protocol/index.ts']) {
      const code = codeOf(join(root, entry));
      const statements = code.split(';').map((part) => part.trim()).filter(Boolean);
      expect(statements.filter((statement) => !/^export (type )?\{[^}]*\} from '[^']+'$/s.test(statement)), entry).toEqual([]);
    }
  });
});
