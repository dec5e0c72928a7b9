/**
 * A form field or query that is not percent-encoded UTF-8: `URLSearchParams` (so
 * `canonicalForm`) reads `%E9` and `%E8` both as U+FFFD, and `%zz` as `%25zz`, where a
 * handler or an upstream sees two intents (a latin1 form, bytes in a query). The verifier
 * compares such text as it came instead; every other form keeps its canonical form.
 */

/**
 * True when every `%` in a form or query starts an escape of UTF-8 (what `URLSearchParams`
 * reads back as it was); `+` is a space either way.
 */
export function decodesAsUtf8(form: string): boolean {
  if (!form.includes('%')) return true;
  try {
    decodeURIComponent(form);
    return true;
  } catch {
    return false;
  }
}
