import type { IncomingMessage } from 'node:http';
import { readProperty } from './read-property.js';

/**
 * Every line of one request header, each apart (Node would join two lines with ", ", and
 * `a` plus an empty line into `a,`); undefined when there is none. Read from `rawHeaders`:
 * `headersDistinct` would build arrays for every header of the request.
 */
export function headerLines(req: IncomingMessage, lowerName: string): string[] | undefined {
  const raw = readProperty<string[]>(req, 'rawHeaders');
  let lines: string[] | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) (lines ??= []).push(raw[i + 1]!);
  }
  return lines;
}
