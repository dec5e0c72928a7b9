/**
 * The canonical text of a request body as it is on the wire: the one rule for which
 * bodies are forms, which are JSON and which are compared as they are. Whether the body
 * is a form comes from its `Content-Type` (`isFormContentType`) on the server, and from
 * its type (`URLSearchParams`) on the client. The client hashes it (with method, URL and scope) to find its
 * key; the verifier hashes it (with method, path and query) to check the payload.
 */
import { canonicalForm } from './canonical-form.js';
import { canonicalJson } from './canonical-json.js';
import { losesDigits } from './lossy-numbers.js';

/**
 * `form:` + `canonicalForm` for a urlencoded form (`form` true); `json:` + canonical JSON for text that
 * is a JSON object, array or string (nested deeper than `MAX_JSON_DEPTH`: `PayloadTooDeepError`); `text:` + the text as it is otherwise,
 * and for JSON holding a number a double cannot hold (`losesDigits`). The kind
 * prefix keeps a form and a text that spell the same from being one payload.
 *
 * @example
 * canonicalBodyText('b=2&a=1', isFormContentType(req.headers['content-type'])) // 'form:a=1&b=2'
 * canonicalBodyText('{"b":1,"a":2}')                                // 'json:{"a":2,"b":1}'
 */
export function canonicalBodyText(text: string, form = false): string {
  if (form) return `form:${canonicalForm(text)}`;
  // Only objects, arrays and strings are read as JSON: `1` or `true` stay text, as a
  // form-like `a=1` does, and most non-JSON text is turned away without a parse.
  if (/^\s*["[{]/.test(text)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return `text:${text}`;
    }
    // A number the parse rounded would merge two amounts: the text is compared as it is.
    return losesDigits(text) ? `text:${text}` : `json:${canonicalJson(parsed)}`;
  }
  return `text:${text}`;
}
