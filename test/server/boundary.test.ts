import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importsOf, resolveImport, ROOT, sourceFiles } from '../helpers/import-graph.js';

const src = join(ROOT, 'src');
const serverDir = join(src, 'server');

/** What a src/server file may import: its own modules, the shared protocol, Node, and the optional peers lazily. */
function offendingImports(): string[] {
  const offending: string[] = [];
  for (const file of sourceFiles(serverDir)) {
    for (const { specifier, lazy } of importsOf(file)) {
      if (specifier.startsWith('node:')) continue;
      // Optional peers, loaded only when the CLI asks for their store.
      if ((specifier === 'ioredis' || specifier === 'pg') && lazy) continue;
      const target = specifier.startsWith('.') ? relative(src, resolveImport(file, specifier)) : undefined;
      if (target !== undefined && (target.startsWith('server/') || target.startsWith('protocol/'))) continue;
      offending.push(`${relative(serverDir, file)} -> ${specifier}`);
    }
  }
  return offending;
}

describe('src/server import boundary', () => {
  it('imports only its own modules, src/protocol, node: builtins, and ioredis and pg lazily', () => {
    expect(offendingImports()).toEqual([]);
  });

  it('the scan sees what it judges (so the check above can fail): protocol imports, and the lazy peers as lazy', () => {
    const all = sourceFiles(serverDir).flatMap((file) => importsOf(file));
    expect(all.filter((i) => i.specifier === '../protocol/index.js').length).toBeGreaterThan(3);
    expect(all.filter((i) => i.specifier === 'ioredis' || i.specifier === 'pg').every((i) => i.lazy)).toBe(true);
    expect(all.filter((i) => i.specifier === 'ioredis' || i.specifier === 'pg')).toHaveLength(2);
  });
});
