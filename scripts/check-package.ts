/**
 * `npm run check:package`: what a user installs. Builds dist/, lints the package with
 * publint, checks that browser entries never reach server code (and the reverse), and
 * holds each browser import to a size budget (minified + gzip,
 * axios and react excluded as the user's own).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { bundleEntry } from './bundle.js';

const budgets: Record<string, { entry: string; gzipBytes: number }> = JSON.parse(
  readFileSync(new URL('../size-budgets.json', import.meta.url), 'utf8'),
);

let failed = false;
const fail = (message: string) => {
  failed = true;
  console.error(`FAIL ${message}`);
};

execFileSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
execFileSync('npx', ['--no-install', 'publint', '--strict'], { stdio: 'inherit' });
// ESM only: node16 (from ESM) and bundler resolution must be clean; CommonJS `require` and
// node10 resolution are unsupported by design (README, "Packaging").
execFileSync('npx', ['--no-install', 'attw', '--pack', '.', '--profile', 'esm-only'], { stdio: 'inherit' });
checkNodeConsumerTypes();

/** Every file reachable from a dist entry through static imports of relative chunks. */
function reachable(entry: string, seen = new Set<string>()): Set<string> {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  const code = readFileSync(new URL(`../dist/${entry}`, import.meta.url), 'utf8');
  for (const match of code.matchAll(/from\s*["']\.\/([^"']+)["']|import\s*["']\.\/([^"']+)["']/g)) {
    reachable(match[1] ?? match[2]!, seen);
  }
  return seen;
}
for (const entry of ['index.js', 'fetch.js', 'axios.js', 'react.js', 'dom.js', 'tokens.js', 'preconditions.js', 'outbox.js', 'sw.js']) {
  const files = [...reachable(entry)];
  const server = files.filter((file) => /^(verifier|server|middleware)[-.]/.test(file));
  if (server.length > 0) fail(`${entry} reaches server code: ${server.join(', ')}`);
  const nodeImports = files.flatMap((file) => [...readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8').matchAll(/from\s*["'](node:[^"']+)["']/g)].map((m) => m[1]));
  if (nodeImports.length > 0) fail(`${entry} imports Node built-ins: ${nodeImports.join(', ')}`);
  // axios and react are optional peers: an entry that loads one at run time fails to load
  // where it is not installed (submit-once/preconditions serves fetch users too).
  const peers = files.flatMap((file) => [...readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8').matchAll(/(?:from|import)\s*["'](axios|react|react-dom)(?:\/[^"']*)?["']/g)].map((m) => m[1]!));
  const own = entry === 'axios.js' ? 'axios' : entry === 'react.js' ? 'react' : undefined;
  const foreign = [...new Set(peers)].filter((peer) => peer !== own);
  if (foreign.length > 0) fail(`${entry} loads the optional peer ${foreign.join(', ')} at run time`);
}
for (const entry of ['server.js', 'server-bin.js']) {
  // The build is not minified, so each module in a chunk is headed `// src/<path>`: the
  // server may reach its own modules and the shared protocol, nothing of the browser's.
  const modules = [...reachable(entry)].flatMap((file) =>
    [...readFileSync(new URL(`../dist/${file}`, import.meta.url), 'utf8').matchAll(/^\/\/ (src\/\S+)$/gm)].map((m) => m[1]!),
  );
  if (!modules.some((module) => module.startsWith('src/protocol/'))) fail(`${entry}: no src/protocol module found; is the build still unminified?`);
  const browser = modules.filter((module) => !module.startsWith('src/server/') && !module.startsWith('src/protocol/'));
  if (browser.length > 0) fail(`${entry} reaches browser code: ${browser.join(', ')}`);
}

console.log('\nSize of each import (minified + gzip, axios/react external):');
for (const [name, { entry, gzipBytes }] of Object.entries(budgets)) {
  const code = await bundleEntry(entry, { external: /^(axios|react|react-dom)(\/|$)/ });
  const size = gzipSync(code).length;
  const line = `  ${name.padEnd(34)} ${String(size).padStart(6)} B  (budget ${gzipBytes} B)`;
  if (size > gzipBytes) fail(`${line} over budget`);
  else console.log(line);
}

/**
 * Typechecks a Node project that uses the published types the way users set one up
 * (`module: nodenext`, no DOM lib, `skipLibCheck: false`): a DOM-only type in a public
 * signature fails here (issue 9: `RequestInfo` in fetch.d.ts did).
 */
function checkNodeConsumerTypes(): void {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'submit-once-consumer-'));
  try {
    cpSync(join(root, 'test/consumers/node-nodenext'), dir, { recursive: true });
    mkdirSync(join(dir, 'node_modules/@types'), { recursive: true });
    symlinkSync(root, join(dir, 'node_modules/submit-once'), 'dir');
    symlinkSync(join(root, 'node_modules/@types/node'), join(dir, 'node_modules/@types/node'), 'dir');
    execFileSync(join(root, 'node_modules/.bin/tsc'), ['-p', dir], { stdio: 'inherit' });
    console.log('Node consumer (nodenext, no DOM lib) typechecks');
  } catch {
    fail('a Node consumer without the DOM lib does not typecheck against dist/types (see above)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (failed) process.exit(1);
console.log('\npackage OK');
