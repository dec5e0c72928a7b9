/** Type tests, checked by `npm run typecheck` (tsc), not run. */
import axios from 'axios';
import { expectTypeOf } from 'vitest';
import { installIdempotency } from '../../src/axios/index.js';
import { createIdempotentFetch, idempotentFetch } from '../../src/fetch/index.js';
import { createSubmitter, isSubmitOnceError, type SubmitEvent } from '../../src/index.js';

// The fetch wrapper is a drop-in for fetch.
expectTypeOf(idempotentFetch).toMatchTypeOf<typeof fetch>();
const wrapped: typeof fetch = createIdempotentFetch({ retry: 2 });
void wrapped;
// @ts-expect-error idempotency takes options or false, not true
void idempotentFetch('/x', { method: 'POST', idempotency: true });

// axios: per-request options live on the request config, typed.
const api = axios.create();
expectTypeOf(installIdempotency(api)).toEqualTypeOf<() => void>();
void api.post('/orders', {}, { idempotency: { key: 'k', retry: { attempts: 2 } } });
void api.post('/orders', {}, { idempotency: false });
// @ts-expect-error retry attempts is a number
void api.post('/orders', {}, { idempotency: { retry: { attempts: 'two' } } });

// The engine returns what send returns.
const submitter = createSubmitter();
expectTypeOf(submitter.submit({ intent: { method: 'POST', url: '/x' }, send: async () => 42 })).toEqualTypeOf<Promise<number>>();

// Events are a discriminated union; error guards narrow to a code.
declare const event: SubmitEvent;
if (event.type === 'retry') expectTypeOf(event.delayMs).toEqualTypeOf<number>();
declare const error: unknown;
if (isSubmitOnceError(error, 'ambiguous-outcome')) expectTypeOf(error.code).toEqualTypeOf<'ambiguous-outcome'>();
