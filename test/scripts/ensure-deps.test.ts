import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { installReason as reasonOf } from '../../scripts/ensure-deps.mjs';

describe('ensure-deps (the pre-script of npm test and npm run demo)', () => {
  let root: string;
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const project = (): string => {
    root = mkdtempSync(join(tmpdir(), 'ensure-deps-'));
    writeFileSync(join(root, 'package-lock.json'), '{}');
    return root;
  };

  it('asks for an install on a fresh clone', () => {
    expect(reasonOf(project())).toMatch(/not installed/);
  });

  it('asks again when package-lock.json is newer than the last install', () => {
    const dir = project();
    mkdirSync(join(dir, 'node_modules'));
    writeFileSync(join(dir, 'node_modules/.package-lock.json'), '{}');
    utimesSync(join(dir, 'node_modules/.package-lock.json'), new Date(1_000_000), new Date(1_000_000));
    expect(reasonOf(dir)).toMatch(/changed/);
  });

  it('does nothing when node_modules matches the lock', () => {
    const dir = project();
    mkdirSync(join(dir, 'node_modules'));
    utimesSync(join(dir, 'package-lock.json'), new Date(1_000_000), new Date(1_000_000));
    writeFileSync(join(dir, 'node_modules/.package-lock.json'), '{}');
    expect(reasonOf(dir)).toBeUndefined();
  });
});
