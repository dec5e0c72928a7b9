import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const serverDir = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/server');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('src/server import boundary', () => {
  it('imports only its own modules, node: builtins, and ioredis and pg lazily', () => {
    const offending: string[] = [];
    for (const file of sourceFiles(serverDir)) {
      // Doc comments show usage (`import Redis from 'ioredis'`); only code counts.
      const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
      for (const match of text.matchAll(/(?:from\s+|import\()\s*'([^']+)'/g)) {
        const specifier = match[1] ?? '';
        if (specifier.startsWith('node:')) continue;
        // Optional peers, loaded only when the CLI asks for their store.
        if ((specifier === 'ioredis' || specifier === 'pg') && text.includes(`await import('${specifier}')`)) continue;
        const target = specifier.startsWith('.') ? resolve(dirname(file), specifier) : specifier;
        if (specifier.startsWith('.') && !relative(serverDir, target).startsWith('..')) continue;
        offending.push(`${relative(serverDir, file)} -> ${specifier}`);
      }
    }
    expect(offending).toEqual([]);
  });
});
