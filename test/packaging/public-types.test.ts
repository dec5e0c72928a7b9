/**
 * The public surface as a user's editor sees it: every named type that a public signature
 * uses (an option's type, a callback's argument, an error's constructor options) must be
 * exported from some entry in package.json "exports", so a user can name it; and none is
 * `any`. Walked over the sources of the entries (dist/types is emitted from them as is).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const src = `${root}src/`;

/** src/<entry>/index.ts for each `types` of package.json "exports". */
function entryFiles(): string[] {
  const exportsField: Record<string, { types?: string } | string> = JSON.parse(readFileSync(`${root}package.json`, 'utf8')).exports;
  return Object.values(exportsField).flatMap((target) =>
    typeof target === 'object' && target.types ? [`${root}${target.types.replace('./dist/types/', 'src/').replace(/\.d\.ts$/, '.ts')}`] : [],
  );
}

/**
 * Named types a public signature may use without their own export, and why. The base of
 * an exported interface (`extends Base`) or alias (`type Name = Base`) is walked but need
 * not be exported: a user names the interface or alias.
 */
const UNEXPORTED_ALLOWED: Record<string, string> = {};

interface Finding {
  name: string;
  file: string;
  via: string;
}

function audit(): { unexported: Finding[]; anys: string[] } {
  const files = entryFiles();
  const program = ts.createProgram(files, {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
    jsx: ts.JsxEmit.ReactJSX,
    strict: true,
    types: ['node'],
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const resolve = (symbol: ts.Symbol) => (symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol);
  const exported = new Set<ts.Symbol>();
  for (const file of files) {
    const moduleSymbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
    for (const symbol of checker.getExportsOfModule(moduleSymbol)) exported.add(resolve(symbol));
  }
  const ours = (node: ts.Node) => node.getSourceFile().fileName.startsWith(src);
  const where = (node: ts.Node) => node.getSourceFile().fileName.slice(src.length);
  const unexported = new Map<string, Finding>();
  const anys: string[] = [];
  const seen = new Set<ts.Symbol>();

  const visitSymbol = (symbol: ts.Symbol, via: string) => {
    if (seen.has(symbol)) return;
    seen.add(symbol);
    for (const declaration of symbol.declarations ?? []) if (ours(declaration)) walk(declaration, via, false);
  };
  const walk = (node: ts.Node, via: string, heritage: boolean): void => {
    // Implementations are not the surface: only what a declaration file would say.
    if (ts.isBlock(node)) return;
    if (ts.isParameter(node) || ts.isPropertyDeclaration(node) || ts.isVariableDeclaration(node)) {
      if (node.initializer && !node.type) return walkInferred(node, via);
    }
    if (ts.isPropertyDeclaration(node) || ts.isMethodDeclaration(node) || ts.isGetAccessor(node)) {
      const hidden = node.modifiers?.some((m) => m.kind === ts.SyntaxKind.PrivateKeyword) || (node.name && ts.isPrivateIdentifier(node.name));
      if (hidden) return;
    }
    if (node.kind === ts.SyntaxKind.AnyKeyword) anys.push(`${via} (${where(node)})`);
    if (ts.isTypeReferenceNode(node) || ts.isExpressionWithTypeArguments(node) || ts.isTypeQueryNode(node)) {
      const nameNode = ts.isTypeReferenceNode(node) ? node.typeName : ts.isTypeQueryNode(node) ? node.exprName : node.expression;
      const found = checker.getSymbolAtLocation(nameNode);
      const symbol = found && resolve(found);
      const declaration = symbol?.declarations?.[0];
      if (symbol && declaration && ours(declaration) && !(symbol.flags & ts.SymbolFlags.TypeParameter)) {
        const id = `${where(declaration)} ${symbol.name}`;
        // `extends Base`, or `type Name = Base`: the user names the exported interface or alias.
        const renamed = ts.isTypeAliasDeclaration(node.parent) && node.parent.type === node;
        const isHeritage = heritage || renamed || ts.isExpressionWithTypeArguments(node);
        if (!exported.has(symbol) && !isHeritage && !(id in UNEXPORTED_ALLOWED) && !unexported.has(id)) {
          unexported.set(id, { name: symbol.name, file: where(declaration), via });
        }
        visitSymbol(symbol, `${via} > ${symbol.name}`);
      }
    }
    if (ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node) || ts.isConstructorDeclaration(node)) {
      // The signature, not the body.
      node.typeParameters?.forEach((p) => walk(p, via, false));
      node.parameters.forEach((p) => walk(p, via, false));
      if (node.type) walk(node.type, via, false);
      return;
    }
    ts.forEachChild(node, (child) => walk(child, via, heritage || ts.isHeritageClause(child)));
  };
  /** An unannotated `x = value`: the declaration file spells its inferred type. */
  const walkInferred = (node: ts.Node, via: string) => {
    const text = checker.typeToString(checker.getTypeAtLocation(node), undefined, ts.TypeFormatFlags.NoTruncation);
    if (/\bany\b/.test(text)) anys.push(`${via} (${where(node)}: ${text})`);
  };

  for (const symbol of exported) visitSymbol(symbol, symbol.name);
  return { unexported: [...unexported.values()], anys };
}

describe('the public types (every entry of package.json "exports")', () => {
  const { unexported, anys } = audit();

  it('export every named type their signatures use', () => {
    expect(unexported.map(({ name, file, via }) => `${name} (${file}) via ${via}`)).toEqual([]);
  });

  it('have no any', () => {
    expect(anys).toEqual([]);
  });
});
