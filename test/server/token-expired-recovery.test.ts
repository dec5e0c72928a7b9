// With `recovery: true`, a token used in
// time whose run died mid-handler (its effect may have happened) is retried after the
// token expired. The claim the retry gets is a recovery rerun, not a first use; refused
// as `token-expired` ("nothing runs", a final 400) with its claim released, the page would
// report a failure, and the user order again with a fresh token: a second order.
// README: "Expiry bars only a first use ... a token that claimed its key in time" is let
// through. Fixed: an expired token's recovery rerun is let through.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { idempotency, memoryStore, type IdempotentRequest } from '../../src/server/index.js';
import { serverPerTest } from '../helpers/serve.js';
import { post } from '../helpers/post.js';

const serve = serverPerTest();
const SECRET = 'expired-recovery-test-secret-0123456789';
const TTL = 60_000;

describe('token mode with recovery', () => {
  // st2 (claimed once whatever the route) and st1 (once per method and route) alike.
  it.each(['st2', 'st1'] as const)('a %s token used in time whose run died is recovered after its expiry, not refused as never used', async (format) => {
    let clock = Date.now();
    const store = memoryStore();
    const options = { store, tokens: { secrets: [SECRET], ttl: TTL, format }, principal: false as const, now: () => clock, leaseMs: 1_000, recovery: true };
    const effects: Array<{ recovery: boolean }> = [];

    // Instance A runs the order's effect, then dies before answering (its lease no longer renewed).
    const a = idempotency(options);
    const aUrl = await serve(
      a.handler((req: IncomingMessage) => {
        effects.push({ recovery: (req as IdempotentRequest).idempotency?.recovery === true });
        a.close();
      }),
    );
    const { token } = await a.issueToken({ headers: {} } as IncomingMessage);
    const lost = post(`${aUrl}/orders`, { key: token, body: { item: 'tea' } }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(effects).toEqual([{ recovery: false }]);

    // The page retries after the lease ran out and after the token's lifetime.
    // (Moved by 2 s only, the token still valid, the same retry passes: a recovery run.)
    clock += TTL + 2_000;
    const b = idempotency(options);
    const bUrl = await serve(
      b.handler((req: IncomingMessage, res: ServerResponse) => {
        const recovery = (req as IdempotentRequest).idempotency?.recovery === true;
        // The handler's own dedupe: a recovery run finds the effect and does not repeat it.
        if (!recovery) effects.push({ recovery });
        res.statusCode = 201;
        res.end(JSON.stringify({ recovered: recovery }));
      }),
    );
    const retry = await post(`${bUrl}/orders`, { key: token, body: { item: 'tea' } });
    // Today: 400 token-expired, and the claim released.
    expect(retry.status).toBe(201);
    expect(retry.json()).toEqual({ recovered: true });
    expect(effects).toEqual([{ recovery: false }]);
    void lost;
  });
});
