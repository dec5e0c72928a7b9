/**
 * Every answer the verifier writes itself: JSON (the audit, the built-in API, the
 * verifier's own endpoints) and RFC 9457 problems. The problem codes, statuses and titles
 * are the protocol's (`src/protocol/problems.ts`); writing one to a `ServerResponse` is
 * the Node-specific part that lives here.
 */
import type { ServerResponse } from 'node:http';
import { PROBLEM_STATUS, PROBLEM_TITLE, problemType, type ProblemCode } from '../protocol/index.js';

/** An RFC 9457 problem body. Extra members carry context (never secrets or the raw key). */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [extension: string]: unknown;
}

/** Writes `value` as JSON; never cached, since these answers describe one moment. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = Buffer.from(JSON.stringify(value));
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', body.length);
  for (const [name, v] of Object.entries(headers)) res.setHeader(name, v);
  res.end(body);
}

/**
 * Writes a problem as `application/problem+json`, never cached. Once the head has gone
 * out, a problem can no longer be told: the connection is dropped instead.
 */
export function sendProblem(
  res: ServerResponse,
  code: ProblemCode,
  detail: string,
  options: { headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const problem: Problem = { ...options.extensions, type: problemType(code), title: PROBLEM_TITLE[code], status: PROBLEM_STATUS[code], detail };
  const body = Buffer.from(JSON.stringify(problem));
  res.statusCode = problem.status;
  res.setHeader('Content-Type', 'application/problem+json');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', body.length);
  for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
  res.end(body);
}

/** The `outcome-unknown` answer, the same whether found at claim or caused by this run. */
export function sendOutcomeUnknown(res: ServerResponse): void {
  sendProblem(
    res,
    'outcome-unknown',
    'An earlier request with this key may or may not have taken effect, and it cannot be found out here; it is not run again. Check its effect before trying again with a new key.',
  );
}
