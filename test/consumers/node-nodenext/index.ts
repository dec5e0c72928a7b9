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

// The error guard narrows to the class a code is thrown with, whichever entry throws it
// (its d.ts imports the outbox's, tokens' and preconditions' errors).
import { isSubmitOnceError, type SubmitOnceErrorOptions } from 'submit-once';
import type { Backoff } from 'submit-once/outbox';
import { isInvalidOptionsError, type SyncClaimOperations, type InvalidOptionsError as ServerInvalidOptionsError } from 'submit-once/server';
declare const caught: unknown;
if (isSubmitOnceError(caught, 'outbox-full')) console.log(caught.reason satisfies 'items' | 'bytes' | 'quota');
if (isSubmitOnceError(caught, 'precondition-failed')) console.log(caught.etag satisfies string | undefined);
const named: [SubmitOnceErrorOptions?, Backoff?, SyncClaimOperations?, ServerInvalidOptionsError?] = [];
if (isInvalidOptionsError(caught)) console.log(caught.option satisfies string);
console.log(named);
