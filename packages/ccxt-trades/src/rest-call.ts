// One REST call with the venue's manners: 429/418 wait exactly Retry-After (capped) and do not count as a
// failure; other faults back off exponentially and, after `retries`, restart the task from its committed
// offset (RetryableError); a fatal fault stops it.
import { FatalError, RetryableError, errorMessage, isFatal, sleep, type Logger } from '@tributary/sdk';
import { RateLimitedError } from './rate-limit.ts';

export interface RestCallOptions {
  what: string;
  signal: AbortSignal;
  logger: Logger;
  retries: number;
  maxRetryAfterMs: number;
  onRateLimited?(err: RateLimitedError): void;
}

export async function restCall<T>(fn: () => Promise<T>, o: RestCallOptions): Promise<T> {
  let failures = 0;
  for (;;) {
    if (o.signal.aborted) throw o.signal.reason;
    try {
      return await fn();
    } catch (err) {
      if (o.signal.aborted) throw o.signal.reason;
      if (err instanceof RateLimitedError) {
        o.onRateLimited?.(err);
        const wait = Math.min(err.retryAfterMs, o.maxRetryAfterMs);
        o.logger.warn(
          { status: err.status, waitMs: wait },
          `${o.what}: venue rate limit; waiting Retry-After`,
        );
        await sleep(wait, o.signal);
        continue;
      }
      if (isFatal(err)) throw err;
      failures++;
      if (failures > o.retries)
        throw new RetryableError(`${o.what} failed ${failures} times: ${errorMessage(err)}`, { cause: err });
      const backoff = Math.min(30_000, 200 * 2 ** (failures - 1)) * (0.5 + Math.random() / 2);
      o.logger.warn(
        { err: errorMessage(err), failures, backoffMs: Math.round(backoff) },
        `${o.what} failed; backing off`,
      );
      await sleep(backoff, o.signal);
    }
  }
}

export { FatalError };
