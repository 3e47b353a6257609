/** A fault worth retrying: the worker restarts the task from its committed offset with backoff. */
export class RetryableError extends Error {
  override name = 'RetryableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A fault that must stop the task: retrying would loop or do harm (bad credentials, fenced producer). */
export class FatalError extends Error {
  override name = 'FatalError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export function isFatal(err: unknown): boolean {
  return err instanceof FatalError || (err instanceof Error && err.name === 'FatalError');
}

/** Anything not explicitly fatal is retried: network faults rarely announce themselves. */
export function isRetryable(err: unknown): boolean {
  return !isFatal(err);
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
