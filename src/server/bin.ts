#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { headerPrincipal } from './principal.js';
import { openStoreSpec } from './store-spec.js';
import { createVerifier } from './verifier.js';

const USAGE = `submit-once-verifier: an idempotency-enforcing HTTP server for testing front ends

Usage: submit-once-verifier [--port 8787] [--host 127.0.0.1] [--upstream URL]
                            [--store memory|file:PATH|redis:URL|postgres:URL] [--lease-ms 10000] [--ttl-ms 86400000]
                            [--principal-header NAME | --shared-keys] [--principal-cookie NAME]...
                            [--recovery] [--max-run-ms 300000]

Without --upstream it serves a built-in API: POST /orders, GET /orders, GET /orders/:id, POST /echo.
Keys are namespaced per caller: by default by a hash of the Authorization header (and the
cookies named with --principal-cookie); --principal-header uses a trusted header's value
instead; --shared-keys puts every caller in one key space.
--recovery runs a key whose outcome is unknown again, telling the upstream with
Idempotency-Recovery: true (the key is always forwarded as Idempotency-Key).
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
      'max-run-ms': { type: 'string' },
      'principal-header': { type: 'string' },
      'principal-cookie': { type: 'string', multiple: true },
      'shared-keys': { type: 'boolean' },
      recovery: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) {
    console.log(USAGE);
    return;
  }
  const port = integer('--port', values.port);
  if (values['shared-keys'] === true && (values['principal-header'] !== undefined || values['principal-cookie'] !== undefined)) {
    throw new Error('--shared-keys cannot be combined with --principal-header or --principal-cookie');
  }
  // The cookies only feed the default credential hash, which a principal header replaces.
  if (values['principal-header'] !== undefined && values['principal-cookie'] !== undefined) {
    throw new Error('--principal-cookie applies to the default principal; it cannot be combined with --principal-header');
  }
  const store = await openStoreSpec(values.store);
  const verifier = createVerifier({
    store,
    ...(values.upstream !== undefined ? { upstream: values.upstream } : {}),
    ...(values['lease-ms'] !== undefined ? { leaseMs: integer('--lease-ms', values['lease-ms']) } : {}),
    ...(values['ttl-ms'] !== undefined ? { ttl: integer('--ttl-ms', values['ttl-ms']) } : {}),
    ...(values['max-run-ms'] !== undefined ? { maxRunMs: integer('--max-run-ms', values['max-run-ms']) } : {}),
    ...(values['principal-header'] !== undefined ? { principal: headerPrincipal(values['principal-header']) } : {}),
    ...(values['shared-keys'] === true ? { principal: false as const } : {}),
    ...(values['principal-cookie'] !== undefined ? { principalCookies: values['principal-cookie'] } : {}),
    recovery: values.recovery === true,
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
