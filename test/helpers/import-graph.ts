/**
 * The one import scanner the boundary tests share: which modules a source file imports,
 * and what an entry reaches through them. Reads the source as text (no compiler), so it
 * is quick and sees `import type` as well; comments are dropped first, because doc
 * comments show usage (`import Redis from 'ioredis'`) that the code does not do.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '../..');

/** One import or re-export of a file; `lazy` for `import('…')`, loaded only when the code runs it. */
export interface ImportSpecifier {
  readonly specifier: string;
  readonly lazy: boolean;
}

/** Every `.ts`/`.tsx` file under `dir`, recursively. */
export function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** A file's code without its block comments and whole-line `//` comments. */
export function codeOf(file: string): string {
  return readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
}

/** Every module a file imports or re-exports, `import type` and `import('…')` included. */
export function importsOf(file: string): ImportSpecifier[] {
  const code = codeOf(file);
  const found: ImportSpecifier[] = [];
  for (const match of code.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s*['"]([^'"]+)['"]/g)) found.push({ specifier: match[1]!, lazy: false });
  for (const match of code.matchAll(/(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) found.push({ specifier: match[1]!, lazy: false });
  for (const match of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) found.push({ specifier: match[1]!, lazy: true });
  return found;
}

/** The package a bare specifier names (`@scope/name` or `name`). */
export function packageOf(specifier: string): string {
  const parts = specifier.split('/');
  return parts[0]!.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The file a relative specifier of `from` names (`./x.js` is `./x.ts` in the source). */
export function resolveImport(from: string, specifier: string): string {
  return resolve(dirname(from), specifier.replace(/\.js$/, '.ts'));
}

/**
 * The source files (relative to `src/`) and the packages (`node:` built-ins included)
 * reachable from `entry` (relative to the root) through static and lazy imports.
 */
export function reachableFrom(entry: string): { files: Set<string>; packages: Set<string> } {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { specifier } of importsOf(file)) {
      if (specifier.startsWith('.')) visit(resolveImport(file, specifier));
      else packages.add(packageOf(specifier));
    }
  };
  visit(resolve(ROOT, entry));
  return { files: new Set([...seen].map((file) => relative(join(ROOT, 'src'), file))), packages };
}
