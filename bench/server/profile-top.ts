/**
 * The top frames by self time of a V8 `.cpuprofile` (as `node --cpu-prof` writes it):
 * `node --import tsx bench/server/profile-top.ts <file.cpuprofile> [count]`. Used by
 * `bench:server --profile`; frames are grouped by function, file and line, then by file.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface Frame {
  readonly name: string;
  readonly selfMs: number;
  readonly share: number;
}

/** Self time per frame (function, file and line), highest first; `(idle)` is left out of the shares. */
export function topFrames(profile: Profile, count: number): Frame[] {
  return selfTimes(profile, count, (frame) => `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`);
}

/** Self time per file, highest first; V8's own entries (the garbage collector, `(program)`) each stand alone. */
export function topFiles(profile: Profile, count: number): Frame[] {
  return selfTimes(profile, count, (frame) => (frame.url === '' ? frame.functionName || '(native)' : shortUrl(frame.url)));
}

function selfTimes(profile: Profile, count: number, group: (frame: ProfileNode['callFrame']) => string): Frame[] {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byId.get(id)?.callFrame;
    if (frame === undefined || frame.functionName === '(idle)') return;
    const micros = profile.timeDeltas[i + 1] ?? 0;
    const name = group(frame);
    self.set(name, (self.get(name) ?? 0) + micros);
    total += micros;
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => ({ name, selfMs: micros / 1000, share: total === 0 ? 0 : micros / total }));
}

function shortUrl(url: string): string {
  if (url === '') return '(native)';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('node_modules/');
  if (modules !== -1) return path.slice(modules + 'node_modules/'.length);
  const src = path.indexOf('/src/');
  return src !== -1 ? path.slice(src + 1) : path;
}

/** Prints the top frames, then the top files. */
export function printTopFrames(file: string, count: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  const line = (frame: Frame) => console.log(`  ${(frame.share * 100).toFixed(1).padStart(5)}%  ${frame.selfMs.toFixed(0).padStart(6)} ms  ${frame.name}`);
  topFrames(profile, count).forEach(line);
  console.log('  by file:');
  topFiles(profile, count).forEach(line);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, count] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: profile-top.ts <file.cpuprofile> [count]');
  printTopFrames(file, Number(count ?? 20));
}
