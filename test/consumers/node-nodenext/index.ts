// A Node project as users set one up: ESM, `module: nodenext`, no DOM lib. It must
// typecheck against the published types of the Node-usable entries (issue 9).
import { createSubmitter, memoryStore, newKey } from 'submit-once';
import { createIdempotentFetch, idempotentFetch } from 'submit-once/fetch';
import { createVerifier, idempotency } from 'submit-once/server';
import { createOutbox, type Outbox } from 'submit-once/outbox';
import { handleOutboxSync } from 'submit-once/sw';

const send = createIdempotentFetch({ store: memoryStore() });
const response: Response = await send(new URL('http://127.0.0.1:8787/orders'), { method: 'POST', body: '{}' });
const other: Response = await idempotentFetch('http://127.0.0.1:8787/orders', { method: 'POST', body: '{}', idempotency: { key: newKey() } });
const verifier = createVerifier({});
const middleware = idempotency({});
// The outbox is for browsers, but its types must not need the DOM lib.
const outbox: Outbox = createOutbox({ beforeReplay: (request: Request) => request });
const queued = createIdempotentFetch({ outbox, queue: true });
console.log(response.status, other.status, createSubmitter, verifier, middleware, queued, handleOutboxSync);

// The error guard narrows to the class a code is thrown with, once the entry that throws
// it is imported (each entry adds its codes; the engine's d.ts imports none of them). The
// preconditions entry needs the DOM lib (RequestInfo), so its code is checked in test-d.
import { isSubmitOnceError, type SubmitOnceErrorOptions } from 'submit-once';
import type { Backoff } from 'submit-once/outbox';
import { isInvalidOptionsError, type SyncClaimOperations, type InvalidOptionsError as ServerInvalidOptionsError } from 'submit-once/server';
declare const caught: unknown;
if (isSubmitOnceError(caught, 'outbox-full')) console.log(caught.reason satisfies 'items' | 'bytes' | 'quota');
const named: [SubmitOnceErrorOptions?, Backoff?, SyncClaimOperations?, ServerInvalidOptionsError?] = [];
if (isInvalidOptionsError(caught)) console.log(caught.option satisfies string);
console.log(named);
