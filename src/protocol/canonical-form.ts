/**
 * Canonical `application/x-www-form-urlencoded` text, for form bodies and URL queries
 * alike: fields sorted by name, fields of one name kept in the order given (`tag=a&tag=b`
 * is a list, and its order can mean something), every field re-encoded the one way
 * `URLSearchParams` writes it (so `%41` is `A` and `%20` is `+`).
 *
 * @example
 * canonicalForm('b=2&a=1&a=0') // 'a=1&a=0&b=2'
 */
export function canonicalForm(form: string | URLSearchParams): string {
  const fields = [...new URLSearchParams(form)];
  // Array sort is stable, so equal names keep their order; compare by UTF-16 code units
  // like URLSearchParams.sort().
  fields.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new URLSearchParams(fields).toString();
}

/** True when a `Content-Type` names a urlencoded form (parameters such as `charset` ignored). */
export function isFormContentType(contentType: string | null | undefined): boolean {
  return (contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}
