// The loop every traffic generator runs: one step, a pause, again, until the signal aborts. A failed step
// is logged and the loop goes on: a generator hiccup must not stop the suite.
import { errorMessage, sleep, type Logger } from '@tributary/sdk';

export async function repeat(
  name: string,
  everyMs: number,
  signal: AbortSignal,
  logger: Logger,
  step: () => Promise<void>,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await step();
    } catch (err) {
      if (signal.aborted) break;
      logger.warn({ traffic: name, err: errorMessage(err) }, 'traffic step failed; going on');
    }
    try {
      await sleep(everyMs, signal);
    } catch {
      break;
    }
  }
}

/** A uniformly random integer in [min, max]. */
export function randomInt(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min + 1));
}

export function pick<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)]!;
}
