/**
 * The origin behind the verifier: a plain node:http orders endpoint that knows nothing of
 * submit-once. It is where the invariants are counted: executions (committed effects) per
 * intentId, taken from the request body the trial generated.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OriginPlan } from './schedule.js';

export interface IntentLedger {
  /** Committed effects: what must never exceed 1. */
  executions: number;
  /** Handler runs that reached the commit point, deduped by key or not. */
  runs: number;
  /** Requests received for the intent. */
  requests: number;
  /** Requests still being handled (a run outlives its client after a kill -9 or a cut). */
  inFlight: number;
  /** Distinct Idempotency-Key values seen (more than one means the client minted two). */
  keys: Set<string>;
  /** Requests marked `Idempotency-Recovery: true`. */
  recoveries: number;
  /** The order id of each execution, in commit order. */
  orders: string[];
  /** When the origin first saw the intent, for faults timed "mid-handler". */
  firstSeen?: Promise<void>;
}

interface Entry {
  plan: OriginPlan;
  ledger: IntentLedger;
  markSeen: () => void;
  /** (principal, key) -> order id: the unique index of a recovery-aware origin. */
  byKey: Map<string, string>;
}

export class CountingOrigin {
  readonly #intents = new Map<string, Entry>();
  #server: Server | undefined;
  #nextOrder = 1;

  /** Registers a trial's intent and how the origin treats it; returns its ledger. */
  register(intentId: string, plan: OriginPlan): IntentLedger {
    // Two trials counting into one ledger would report each other's effects as duplicates.
    if (this.#intents.has(intentId)) throw new Error(`intent ${intentId} is already registered`);
    let markSeen = (): void => undefined;
    const ledger: IntentLedger = { executions: 0, runs: 0, requests: 0, inFlight: 0, keys: new Set(), recoveries: 0, orders: [] };
    ledger.firstSeen = new Promise<void>((resolve) => (markSeen = resolve));
    this.#intents.set(intentId, { plan, ledger, markSeen, byKey: new Map() });
    return ledger;
  }

  forget(intentId: string): void {
    this.#intents.delete(intentId);
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      this.#handle(req).then(
        (answer) => {
          if (answer === 'hang-up') {
            res.socket?.destroy();
            return;
          }
          res.writeHead(answer.status, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify(answer.body));
        },
        (error: unknown) => {
          res.writeHead(500, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify({ error: String(error) }));
        },
      );
    });
    this.#server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.#server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage): Promise<'hang-up' | { status: number; body: unknown }> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    let intentId: unknown;
    try {
      intentId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { intentId?: unknown }).intentId;
    } catch {
      return { status: 400, body: { error: 'expected a JSON body' } };
    }
    const entry = typeof intentId === 'string' ? this.#intents.get(intentId) : undefined;
    if (!entry || typeof intentId !== 'string') return { status: 404, body: { error: `unknown intent ${String(intentId)}` } };
    const { plan, ledger } = entry;
    ledger.requests += 1;
    const key = header(req, 'idempotency-key');
    if (key !== undefined) ledger.keys.add(key);
    if (header(req, 'idempotency-recovery') === 'true') ledger.recoveries += 1;
    entry.markSeen();
    ledger.inFlight += 1;
    try {
      // The work happens whether or not anyone still waits for the answer: an origin
      // does not notice that the verifier in front of it died or its client left.
      await sleep(plan.handlerMs);
      if (plan.reject) return { status: 400, body: { error: 'declined', intentId } };
      ledger.runs += 1;
      const indexKey = JSON.stringify([header(req, 'authorization') ?? null, key ?? null]);
      const existing = plan.recoveryAware && key !== undefined ? entry.byKey.get(indexKey) : undefined;
      let orderId: string;
      if (existing !== undefined) {
        orderId = existing;
      } else {
        orderId = `o-${this.#nextOrder++}`;
        ledger.executions += 1;
        ledger.orders.push(orderId);
        if (plan.recoveryAware && key !== undefined) entry.byKey.set(indexKey, orderId);
      }
      // Hang up after the commit: the effect happened but nobody upstream learns it.
      if (ledger.runs <= plan.hangups) return 'hang-up';
      return { status: existing === undefined ? 201 : 200, body: { intentId, orderId } };
    } finally {
      ledger.inFlight -= 1;
    }
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
