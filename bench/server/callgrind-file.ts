/**
 * Reads what `instructions.ts` needs from Valgrind's callgrind output format
 * (https://valgrind.org/docs/manual/cl-format.html): each function's self cost of one
 * event, and names for V8's compiled code, which callgrind knows only by address, from the
 * perf map V8 writes under `--perf-basic-prof` (`/tmp/perf-<pid>.map`: start, size, name).
 */

/** Self cost of `event` per function name; compiled code named by `nameOf` when given. */
export function selfCosts(text: string, event = 'Ir', nameOf: (name: string) => string = (name) => name): Map<string, number> {
  const names = new Map<string, string>();
  const costs = new Map<string, number>();
  let column = -1;
  let fn: string | undefined;
  // The line after `calls=` is the call's inclusive cost, not the caller's own.
  let callCost = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('events:')) {
      column = line.slice(7).trim().split(/\s+/).indexOf(event);
      if (column < 0) throw new Error(`no ${event} in this file's events: ${line}`);
      continue;
    }
    const named = /^(c?fn)=\((\d+)\)(?: (.*))?$/.exec(line);
    if (named !== null) {
      const [, kind, id, name] = named as unknown as [string, string, string, string | undefined];
      if (name !== undefined) names.set(id, nameOf(name));
      if (kind === 'fn') fn = names.get(id);
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true;
      continue;
    }
    // A cost line: a position (a number, +n, -n or *), then the events' counts.
    if (/^([+-]?\d+|\*)\s/.test(line) && fn !== undefined) {
      if (callCost) {
        callCost = false;
        continue;
      }
      const value = Number(line.trim().split(/\s+/)[1 + column] ?? 0);
      costs.set(fn, (costs.get(fn) ?? 0) + value);
    }
  }
  return costs;
}

/**
 * A namer for callgrind's addresses (`0x000000000d135600`) from a perf map: the name of
 * the code object whose range holds the address, the latest one written where V8 reused
 * the space. Other names, and addresses the map does not hold, are returned as they are,
 * with a JavaScript name's line and column dropped so that a function's code objects add up.
 */
export function perfMapNamer(map: string): (name: string) => string {
  const ranges = map
    .split('\n')
    .map((line) => /^([0-9a-f]+) ([0-9a-f]+) (.*)$/i.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m, order) => ({ start: parseInt(m[1]!, 16), end: parseInt(m[1]!, 16) + parseInt(m[2]!, 16), name: m[3]!, order }));
  return (name) => {
    const address = /^0x([0-9a-f]+)$/i.exec(name.trim());
    if (address === null) return name;
    const at = parseInt(address[1]!, 16);
    let found: (typeof ranges)[number] | undefined;
    for (const range of ranges) if (range.start <= at && at < range.end && (found === undefined || range.order > found.order)) found = range;
    return found === undefined ? name : found.name.replace(/:\d+:\d+$/, '');
  };
}
