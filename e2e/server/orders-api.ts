/**
 * The API the fixture pages submit to. It is deliberately NOT idempotent: it records every
 * request it sees, so a spec can count how many reached it and which key each carried.
 * Specs running in parallel keep apart by a `lane` query parameter.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { idempotency, type IdempotentRequest } from '../../src/server/index.js';
import type { Action, ControlRequest, LoggedRequest, OrderCreated } from '../support/protocol.js';

interface Lane {
  log: LoggedRequest[];
  /** Requests that reached `/api/verified-orders`, before the verifier: every replay counts. */
  arrivals: number;
  inFlight: number;
  plan: Action[];
  fallback: Action;
}

const OK: Action = { kind: 'ok' };

export class OrdersApi {
  readonly #lanes = new Map<string, Lane>();
  /**
   * The real verifier in front of the same recording handler (`/api/verified-orders`):
   * what reaches the log is what the origin ran, after the verifier's replays and 409s.
   */
  readonly #verifier = idempotency({ required: false });

  #lane(name: string): Lane {
    let lane = this.#lanes.get(name);
    if (!lane) {
      lane = { log: [], arrivals: 0, inFlight: 0, plan: [], fallback: OK };
      this.#lanes.set(name, lane);
    }
    return lane;
  }

  /** Answers `/api/orders`, `/__control`, `/__log`, `/__reset`; false for other paths. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const laneName = url.searchParams.get('lane') ?? 'default';
    switch (`${req.method ?? ''} ${url.pathname}`) {
      case 'POST /api/orders':
        await this.#order(req, res, url, laneName);
        return true;
      case 'POST /api/verified-orders':
        this.#lane(laneName).arrivals += 1;
        this.#verifier.handler((verified, answer) => this.#order(verified, answer, url, laneName))(req, res);
        return true;
      case 'POST /__control': {
        const control = JSON.parse(await readBody(req)) as ControlRequest;
        const lane = this.#lane(laneName);
        if (control.plan) lane.plan = [...control.plan];
        if (control.fallback) lane.fallback = control.fallback;
        sendJson(res, 200, { plan: lane.plan, fallback: lane.fallback });
        return true;
      }
      case 'GET /__arrivals':
        sendJson(res, 200, this.#lane(laneName).arrivals);
        return true;
      case 'GET /__log':
        sendJson(res, 200, this.#lane(laneName).log);
        return true;
      case 'POST /__reset':
        this.#lanes.delete(laneName);
        sendJson(res, 200, {});
        return true;
      default:
        return false;
    }
  }

  async #order(req: IdempotentRequest, res: ServerResponse, url: URL, laneName: string): Promise<void> {
    const lane = this.#lane(laneName);
    // Behind the verifier the body was read already.
    const body = req.rawBody ? req.rawBody.toString('utf8') : await readBody(req);
    const action = lane.plan.shift() ?? lane.fallback;
    const key = headerValue(req, 'idempotency-key');
    const contentType = headerValue(req, 'content-type');
    const form = /^multipart\/form-data/i.test(contentType ?? '') ? await formOf(req.rawBody ?? Buffer.from(body), contentType!) : undefined;
    const seq = lane.log.length + 1;
    lane.log.push({
      seq,
      method: req.method ?? '',
      path: url.pathname,
      host: req.headers.host ?? '',
      key,
      body,
      contentType,
      ...(form && { form }),
      action: action.kind,
      inFlight: lane.inFlight,
    });
    lane.inFlight += 1;
    res.on('close', () => (lane.inFlight -= 1));
    if (action.delayMs) await new Promise((resolve) => setTimeout(resolve, action.delayMs));
    switch (action.kind) {
      case 'drop':
        // Before any response byte: the browser can only report a network error.
        req.socket.destroy();
        return;
      case 'status': {
        const headers: Record<string, string> = {};
        if (action.retryAfter !== undefined) headers['retry-after'] = action.retryAfter;
        sendJson(res, action.status, { error: `planned ${action.status}`, seq }, headers);
        return;
      }
      case 'ok': {
        const created: OrderCreated = { orderId: seq, key, lane: laneName };
        sendJson(res, 201, created);
        return;
      }
    }
  }
}

function headerValue(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  if (value === undefined) return null;
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * A multipart body as the origin reads it (a part that does not match the Content-Type's
 * boundary makes it throw): each field by name, a file as `name (type): text`.
 */
async function formOf(raw: Buffer, contentType: string): Promise<Record<string, string>> {
  let form: FormData;
  try {
    form = await new Response(new Uint8Array(raw), { headers: { 'content-type': contentType } }).formData();
  } catch (error) {
    // Logged, not thrown: a spec sees what the origin could not read.
    return { unparsed: String(error) };
  }
  const fields: Record<string, string> = {};
  for (const [name, value] of form) fields[name] = typeof value === 'string' ? value : `${value.name} (${value.type}): ${await value.text()}`;
  return fields;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
