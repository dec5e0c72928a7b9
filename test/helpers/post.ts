/** A request to a real server with `fetch`, its answer read whole. */

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Uint8Array;
  readonly text: string;
  json<T = Record<string, unknown>>(): T;
}

/** POST (or `method`) with an optional key, a JSON `body` or a `raw` one, and extra headers. */
export async function post(
  url: string,
  options: { key?: string; body?: unknown; raw?: string | Uint8Array; headers?: Record<string, string>; method?: string } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers['Idempotency-Key'] = options.key;
  let body: string | Uint8Array | undefined = options.raw;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers['Content-Type'] ??= 'application/json';
  }
  const res = await fetch(url, { method: options.method ?? 'POST', headers, body: body as BodyInit | undefined });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = new TextDecoder().decode(bytes);
  return { status: res.status, headers: res.headers, bytes, text, json: <T>() => JSON.parse(text) as T };
}
