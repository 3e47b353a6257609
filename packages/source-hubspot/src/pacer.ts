// Client-side pacing for HubSpot's rolling-window limits: a call waits (never spins) until the window has
// room, and a 429 pauses every call until its Retry-After (or backoff) has passed.
import { sleep } from '@tributary/sdk';

export interface Pacer {
  /** Resolves when a call may be made now (and counts it). */
  take(signal: AbortSignal): Promise<void>;
  /** No call before `until` (epoch ms). */
  pauseUntil(until: number): void;
}

export function createPacer(max: number, windowMs: number, now: () => number = Date.now): Pacer {
  const hits: number[] = [];
  const state = { pausedUntil: 0 };
  return {
    async take(signal) {
      for (;;) {
        const t = now();
        if (state.pausedUntil > t) {
          await sleep(state.pausedUntil - t, signal);
          continue;
        }
        while (hits.length && hits[0]! <= t - windowMs) hits.shift();
        if (hits.length < max) {
          hits.push(t);
          return;
        }
        await sleep(hits[0]! + windowMs - t + 1, signal);
      }
    },
    pauseUntil(until) {
      state.pausedUntil = Math.max(state.pausedUntil, until);
    },
  };
}
