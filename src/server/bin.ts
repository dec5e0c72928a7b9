#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { openStoreSpec } from './store-spec.js';
import { createVerifier } from './verifier.js';

const USAGE = `submit-once-verifier: an idempotency-enforcing HTTP server for testing front ends

Usage: submit-once-verifier [--port 8787] [--host 127.0.0.1] [--upstream URL]
                            [--store memory|file:PATH|redis:URL|postgres:URL] [--lease-ms 10000] [--ttl-ms 86400000]

Without --upstream it serves a built-in API: POST /orders, GET /orders, GET /orders/:id, POST /echo.
Audit: GET /__submit-once/stats (DELETE resets), POST /__submit-once/reset forgets all keys.`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      upstream: { type: 'string' },
      store: { type: 'string', default: 'memory' },
      'lease-ms': { type: 'string' },
      'ttl-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const port = integer('--port', values.port);
  const store = await openStoreSpec(values.store);
  const verifier = createVerifier({
    store,
    ...(values.upstream !== undefined ? { upstream: values.upstream } : {}),
    ...(values['lease-ms'] !== undefined ? { leaseMs: integer('--lease-ms', values['lease-ms']) } : {}),
    ...(values['ttl-ms'] !== undefined ? { ttl: integer('--ttl-ms', values['ttl-ms']) } : {}),
  });
  const url = await verifier.listen(port, values.host);
  console.log(`submit-once verifier listening on ${url} (store: ${values.store}, ${values.upstream === undefined ? 'built-in orders API' : `upstream: ${values.upstream}`})`);

  const stop = (): void => {
    verifier.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function integer(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  return n;
}

main().catch((error: unknown) => {
  console.error(`submit-once-verifier: ${error instanceof Error ? error.message : String(error)}`);
  console.error(USAGE);
  process.exit(1);
});
