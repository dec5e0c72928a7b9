/**
 * Type tests of the public surface as a user writes against it, checked by
 * `npm run typecheck` (tsc), not run. test/packaging/public-types.test.ts checks that the
 * named types exist; this file that they are the useful ones.
 */
import { expectTypeOf } from 'vitest';
import {
  isSubmitOnceError,
  newKey,
  type AmbiguousOutcomeError,
  type Held,
  type HeldRequestOf,
  type KeyReusedError,
  type OutboxPort,
  type RandomBytes,
  type ReplayedFailureError,
  type SubmitCall,
  type SubmitOnceErrorOptions,
  type SubmitterOptions,
} from '../../src/index.js';
import type { Backoff, OutboxFullError, OutboxGaveUpError, OutboxOptions } from '../../src/outbox/index.js';
import type { OutboxStillWaitingError, Backoff as SwBackoff, OutboxSyncOptions } from '../../src/sw/index.js';
import type { PreconditionFailedError } from '../../src/preconditions/index.js';
import type { TokenUnavailableError } from '../../src/tokens/index.js';
import type { IdempotencyStore, SyncClaimOperations } from '../../src/server/index.js';

// The guard narrows a code to its class: the fields the README tells a user to read are there.
declare const error: unknown;
if (isSubmitOnceError(error, 'key-reused')) {
  expectTypeOf(error).toMatchTypeOf<KeyReusedError>();
  expectTypeOf(error.status).toEqualTypeOf<number>();
}
if (isSubmitOnceError(error, 'ambiguous-outcome')) expectTypeOf(error.attempts).toEqualTypeOf<number>();
if (isSubmitOnceError(error, 'replayed-failure')) expectTypeOf(error).toMatchTypeOf<ReplayedFailureError>();
if (isSubmitOnceError(error, 'precondition-failed')) expectTypeOf(error.current).toEqualTypeOf<unknown>();
if (isSubmitOnceError(error, 'precondition-failed')) expectTypeOf(error).toMatchTypeOf<PreconditionFailedError>();
if (isSubmitOnceError(error, 'token-unavailable')) expectTypeOf(error).toMatchTypeOf<TokenUnavailableError>();
if (isSubmitOnceError(error, 'outbox-full')) expectTypeOf(error.reason).toEqualTypeOf<'items' | 'bytes' | 'quota'>();
if (isSubmitOnceError(error, 'outbox-gave-up')) expectTypeOf(error).toMatchTypeOf<OutboxGaveUpError>();
if (isSubmitOnceError(error, 'outbox-full')) expectTypeOf(error).toMatchTypeOf<OutboxFullError>();
if (isSubmitOnceError(error, 'outbox-still-waiting')) expectTypeOf(error.ids).toEqualTypeOf<readonly string[]>();
// Without a code, or with a union of codes, it still narrows (to the base, to the union).
if (isSubmitOnceError(error)) expectTypeOf(error.code).toBeString();
declare const code: 'key-reused' | 'ambiguous-outcome';
if (isSubmitOnceError(error, code)) expectTypeOf(error).toMatchTypeOf<KeyReusedError | AmbiguousOutcomeError>();

// Option types a user writes a value of, or implements, by name.
const backoff: Backoff = { baseDelay: 1000, maxDelay: 60_000 };
expectTypeOf<Partial<Backoff>>().toEqualTypeOf<NonNullable<OutboxOptions['backoff']>>();
expectTypeOf<Partial<SwBackoff>>().toEqualTypeOf<NonNullable<OutboxSyncOptions['backoff']>>();
expectTypeOf<OutboxPort>().toEqualTypeOf<NonNullable<SubmitterOptions['outbox']>>();
declare const call: SubmitCall<number>;
expectTypeOf(call.held).toEqualTypeOf<Held<number> | undefined>();
expectTypeOf<Held<number>['request']>().toEqualTypeOf<HeldRequestOf>();
const bytes: RandomBytes = (buffer) => buffer;
expectTypeOf(newKey).parameter(0).toEqualTypeOf<RandomBytes | undefined>();
const errorOptions: SubmitOnceErrorOptions = { cause: new Error('x') };
expectTypeOf<NonNullable<IdempotencyStore['sync']>>().toMatchTypeOf<SyncClaimOperations | NonNullable<IdempotencyStore['sync']>>();
declare const syncClaim: SyncClaimOperations;
const store: Pick<IdempotencyStore, 'sync'> = { sync: syncClaim };
void [backoff, bytes, errorOptions, store];
