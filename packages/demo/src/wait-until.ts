// Polling until a condition holds: the demo waits on its pipeline (connectors running, offsets committed,
// the processor caught up), all of it visible only by asking again.
import { sleep } from '@tributary/sdk';

/** Resolves once `check` is true; rejects when `fail` names a reason, after `timeoutMs`, or on abort. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  o: { signal: AbortSignal; timeoutMs: number; fail?: () => string | null },
): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  while (!(await check())) {
    const why = o.fail?.();
    if (why) throw new Error(why);
    if (Date.now() > deadline)
      throw new Error(`timed out after ${Math.round(o.timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(250, o.signal);
  }
}
