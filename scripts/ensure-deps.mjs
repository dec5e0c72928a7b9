#!/usr/bin/env node
/**
 * Runs before `npm test` and `npm run demo` (npm's `pre` scripts): on a fresh clone, or
 * after package-lock.json changed, installs the locked dependencies first, so the README's
 * first two commands work as written. Plain JavaScript with no imports outside Node: it
 * must run before anything is installed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Why an install is needed, or undefined when node_modules matches the lock. npm writes
 * node_modules/.package-lock.json on every install, so its age tells whether the lock
 * changed since.
 * @param {string} root
 * @returns {string | undefined}
 */
export function installReason(root) {
  const installed = `${root}/node_modules/.package-lock.json`;
  if (!existsSync(installed)) return 'dependencies are not installed yet';
  if (statSync(`${root}/package-lock.json`).mtimeMs > statSync(installed).mtimeMs) return 'package-lock.json changed since the last install';
  return undefined;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url));
  const reason = installReason(root);
  if (reason !== undefined) {
    console.log(`submit-once: ${reason}; running npm ci first.`);
    const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
