import pRetry, { AbortError } from 'p-retry';
import type { Logger } from 'pino';
import { errorMessage, isFatal } from './errors.ts';

export interface RetryOptions {
  /** Label for log lines. */
  what: string;
  signal?: AbortSignal;
  logger?: Logger;
  /** Attempts after the first; default 8. `Infinity` retries until aborted. */
  retries?: number;
  minTimeoutMs?: number;
  maxTimeoutMs?: number;
  /** Extra veto on top of FatalError: return false to stop retrying this error. */
  shouldRetry?: (err: unknown) => boolean;
}

/** Exponential backoff with full jitter (p-retry `randomize`), bounded, abortable; FatalError is never
 * retried. Logs one warning per failed attempt (not per inner error) so an outage does not flood logs. */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: RetryOptions): Promise<T> {
  return pRetry(
    async (attempt) => {
      try {
        return await fn(attempt);
      } catch (err) {
        if (isFatal(err) || (opts.shouldRetry && !opts.shouldRetry(err))) {
          throw new AbortError(err instanceof Error ? err : new Error(String(err)));
        }
        throw err;
      }
    },
    {
      retries: opts.retries ?? 8,
      factor: 2,
      minTimeout: opts.minTimeoutMs ?? 200,
      maxTimeout: opts.maxTimeoutMs ?? 30_000,
      randomize: true,
      ...(opts.signal ? { signal: opts.signal } : {}),
      onFailedAttempt: ({ error, attemptNumber, retriesLeft }) => {
        opts.logger?.warn(
          { attemptNumber, retriesLeft, err: errorMessage(error) },
          `${opts.what} failed; backing off`,
        );
      },
    },
  );
}
