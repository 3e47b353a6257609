// The Source contract: the one seam between a connector package and the worker runtime.
// A source package depends on this package only, never on the runtime.
export type { JsonValue, JsonObject } from './json.ts';
export type {
  SourceRecord,
  SourceBatch,
  TaskContext,
  SourceTask,
  SourceDefinition,
  TaskSpec,
  SourceMetrics,
} from './source.ts';
export { defineSource } from './source.ts';
export { RetryableError, FatalError, isRetryable, isFatal, errorMessage } from './errors.ts';
export { withRetry, type RetryOptions } from './retry.ts';
export { secret, secretSchema, isSecret, type Secret } from './secret.ts';
export { deadLetter, DEAD_LETTER_REASON_HEADER, type DeadLetterInput } from './dead-letter.ts';
export { abortable, sleep } from './abort.ts';
export { mergeIterators } from './merge.ts';
export type { Logger } from 'pino';
