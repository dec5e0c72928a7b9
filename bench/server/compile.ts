/**
 * The bench's servers as one compiled ES module (esbuild, which tsx already brings), so
 * they run on plain `node`: under tsx every process carries its loader's hooks, whose
 * traffic showed in every target's profile, bare ones included. Dependencies stay
 * external; the bundle lives under `node_modules/.cache` so they resolve as from the repo,
 * one a checkout: worktrees sharing one `node_modules` would overwrite each other's.
 */
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

export async function compileTargets(root: string): Promise<string> {
  const checkout = createHash('sha256').update(resolve(root)).digest('hex').slice(0, 8);
  const dir = resolve(root, 'node_modules', '.cache', `submit-once-bench-${checkout}`);
  mkdirSync(dir, { recursive: true });
  const outfile = join(dir, 'targets.mjs');
  await build({
    entryPoints: [resolve(root, 'bench/server/targets.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    logLevel: 'warning',
  });
  return outfile;
}
