import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuditSnapshot } from './audit.js';
import { sendJson } from './respond.js';

/**
 * Serves the audit as JSON: GET reads it, DELETE resets the counters (tests, demos).
 * Returns false for other methods so the caller can answer 405 or pass on.
 */
export function serveStats(
  req: IncomingMessage,
  res: ServerResponse,
  audit: { stats(): AuditSnapshot; resetStats(): void },
): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') {
    sendJson(res, 200, audit.stats());
    return true;
  }
  if (req.method === 'DELETE') {
    audit.resetStats();
    res.statusCode = 204;
    res.end();
    return true;
  }
  return false;
}
