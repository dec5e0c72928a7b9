export { idempotency } from './middleware.js';
export type { IdempotencyContext, IdempotencyMiddleware, IdempotentRequest, NextFunction, RequestHandler } from './middleware.js';
export { UncertainOutcomeError, isUncertainOutcomeError } from './outcome.js';
export { InvalidOptionsError, isInvalidOptionsError } from './invalid-options-error.js';
export { credentialPrincipal, headerPrincipal, type PrincipalResolver } from './principal.js';
export { RECOVERY_HEADER } from './proxy.js';
export type { IdempotencyOptions } from './options.js';
export { DEFAULT_REPLAY_HEADERS } from './options.js';
export type { CorsOptions } from './cors.js';
export type { IdempotencyEvent, IdempotencyEventType, EventScope } from './events.js';
export type { AuditSnapshot, AuditTotals, KeyAudit } from './audit.js';
export { MAX_JSON_DEPTH, PROBLEM_BASE, problemType, type ProblemCode } from '../protocol/index.js';
export type { Problem } from './respond.js';
export { memoryStore, type MemoryStoreOptions } from './stores/memory.js';
export { fileStore, type FileStoreDurability, type FileStoreOptions } from './stores/file.js';
export { StoreLockedError, isStoreLockedError, type LockHolder } from './stores/file-lock.js';
export { redisStore, type RedisLikeClient, type RedisStoreOptions } from './stores/redis.js';
export {
  postgresStore,
  type PgClientLike,
  type PgPooledClient,
  type PgPoolLike,
  type PgResult,
  type PostgresStore,
  type PostgresStoreOptions,
} from './stores/postgres.js';
export { StoreUnavailableError, isStoreUnavailableError } from './stores/types.js';
export { NoClaimTransactionError, isNoClaimTransactionError, type NoClaimTransactionReason } from './stores/no-claim-transaction-error.js';
export type {
  IdempotencyStore,
  ClaimRequest,
  ClaimResult,
  CompleteRequest,
  RenewRequest,
  Rerun,
  SettleRequest,
  StoredResponse,
  SyncClaimOperations,
  SyncStoreOperations,
} from './stores/types.js';
export { createVerifier, TOKEN_PATH, type Verifier, type VerifierOptions } from './verifier.js';
export type { IssuedToken, TokenFormat, TokenOptions } from './tokens.js';
export { checkIfMatch, etagOf, ifMatchHolds, type CurrentVersion, type PreconditionOptions } from './preconditions.js';
export {
  dedupe,
  isLeaseLostError,
  LeaseLostError,
  type DedupeContext,
  type DedupeHandler,
  type DedupeOptions,
  type DedupeResult,
  type LeaseLostReason,
} from './dedupe.js';
export {
  consumeOnce,
  DEAD_LETTER_ATTEMPTS_HEADER,
  DEAD_LETTER_ERROR_HEADER,
  type AmqpConfirmChannelLike,
  type AmqpMessage,
  type Consumer,
  type ConsumeOnceOptions,
  type MessageHandler,
} from './amqp.js';
