export { idempotency } from './middleware.js';
export type { IdempotencyMiddleware, IdempotentRequest, NextFunction, RequestHandler } from './middleware.js';
export type { IdempotencyOptions } from './options.js';
export { DEFAULT_REPLAY_HEADERS } from './options.js';
export type { CorsOptions } from './cors.js';
export type { IdempotencyEvent, IdempotencyEventType, EventScope } from './events.js';
export type { AuditSnapshot, AuditTotals, KeyAudit } from './audit.js';
export { PROBLEM_BASE, problemType, type Problem, type ProblemCode } from './problems.js';
export { memoryStore, type MemoryStoreOptions } from './stores/memory.js';
export { fileStore, type FileStoreOptions } from './stores/file.js';
export { redisStore, type RedisLikeClient, type RedisStoreOptions } from './stores/redis.js';
export {
  postgresStore,
  type PgClientLike,
  type PgPoolLike,
  type PgResult,
  type PostgresStore,
  type PostgresStoreOptions,
} from './stores/postgres.js';
export { StoreUnavailableError, isStoreUnavailableError } from './stores/types.js';
export type {
  IdempotencyStore,
  ClaimRequest,
  ClaimResult,
  CompleteRequest,
  RenewRequest,
  StoredResponse,
} from './stores/types.js';
export { createVerifier, type Verifier, type VerifierOptions } from './verifier.js';
export { createOrdersApi, type Order, type OrdersApi, type OrdersApiOptions } from './orders-api.js';
export { dedupe, type DedupeContext, type DedupeHandler, type DedupeOptions, type DedupeResult } from './dedupe.js';
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
