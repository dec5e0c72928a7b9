import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

/** Every module specifier imported or re-exported by a file, `import type` included. */
function specifiers(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const found: string[] = [];
  for (const match of source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g)) found.push(match[1]!);
  for (const match of source.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.push(match[1]!);
  for (const match of source.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push(match[1]!);
  return found;
}

/** The bare (package) imports reachable from `entry` through relative imports. */
function packagesReachableFrom(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const specifier of specifiers(file)) {
      if (specifier.startsWith('.')) visit(resolve(dirname(file), specifier.replace(/\.js$/, '.ts')));
      else packages.add(specifier.split('/')[0]!.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!);
    }
  };
  visit(resolve(root, entry));
  return packages;
}

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
    const reachable = packagesReachableFrom('src/dom.ts');
    expect([...reachable].filter(isReact)).toEqual([]);
  });

  it('the scan does see React where it is imported (so the checks above can fail)', () => {
    expect([...packagesReachableFrom('src/react/index.ts')].filter(isReact)).toEqual(['react']);
  });
});
