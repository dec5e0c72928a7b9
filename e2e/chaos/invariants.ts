/**
 * The invariants, judged from what the origin counted and what the user was told. A
 * schedule's outcome is the set of every submission's end, not only the last one: a tab
 * that was told "done" while the origin never acted is a lost intent, whatever came later.
 */
import type { IntentLedger } from './origin.js';
import type { SubmitResult } from './page-api.js';

export type Reading = 'success' | 'failed' | 'outcome-unknown' | 'ambiguous' | 'lost';

/** Statuses after which the server may or may not have acted (as the SDK reads them). */
const AMBIGUOUS = new Set([408, 409, 425, 429]);

export function read(result: SubmitResult): Reading {
  if (result.kind === 'lost') return 'lost';
  if (result.kind === 'error') return result.code === 'outcome-unknown' ? 'outcome-unknown' : 'ambiguous';
  if (result.status >= 200 && result.status < 400) return 'success';
  if (result.problemType?.endsWith('/outcome-unknown') === true) return 'outcome-unknown';
  if (result.status >= 500 || AMBIGUOUS.has(result.status)) return 'ambiguous';
  return 'failed';
}

/** A definitive answer ends the user's tries: done, refused, or "we cannot know". */
export function isDefinitive(reading: Reading): boolean {
  return reading === 'success' || reading === 'failed' || reading === 'outcome-unknown';
}

export interface Told {
  /** Who was told: `A#0` (first tab, first click), `B`, `A-reloaded`, `try 2`. */
  who: string;
  result: SubmitResult;
}

/** Every broken invariant, as a sentence; empty when the trial holds. */
export function violations(told: readonly Told[], ledger: IntentLedger): string[] {
  const found: string[] = [];
  const readings = told.map((t) => ({ ...t, reading: read(t.result) }));
  if (ledger.executions > 1) {
    // One key means the server ran a key twice; several mean the client minted a second key.
    const keys = ledger.keys.size === 1 ? 'one Idempotency-Key' : `${ledger.keys.size} distinct Idempotency-Keys`;
    found.push(`duplicate: the origin executed the intent ${ledger.executions} times (orders ${ledger.orders.join(', ')}; ${keys})`);
  }
  const successes = readings.filter((t) => t.reading === 'success');
  const failures = readings.filter((t) => t.reading === 'failed');
  if (successes.length > 0 && ledger.executions !== 1) {
    found.push(`${successes.map((t) => t.who).join(', ')} told success but the origin executed the intent ${ledger.executions} times`);
  }
  for (const success of successes) {
    // Handed over, then the page reloaded before reading it: no order id to compare.
    if (success.result.kind === 'response' && success.result.unread === true) continue;
    const orderId = (success.result as { body?: { orderId?: unknown } }).body?.orderId;
    if (ledger.executions === 1 && orderId !== ledger.orders[0]) {
      found.push(`${success.who} told order ${String(orderId)} but the origin's order is ${String(ledger.orders[0])}`);
    }
  }
  if (failures.length > 0 && ledger.executions !== 0) {
    found.push(`${failures.map((t) => t.who).join(', ')} told a definitive failure but the origin executed the intent ${ledger.executions} times`);
  }
  return found;
}

/** The one word the user was left with: the best-informed answer any submission got. */
export function verdict(told: readonly Told[]): Reading {
  const readings = told.map((t) => read(t.result));
  for (const reading of ['success', 'failed', 'outcome-unknown', 'ambiguous'] as const) if (readings.includes(reading)) return reading;
  return 'lost';
}
