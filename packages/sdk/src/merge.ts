// Fan-in of a task's per-partition generators (an exchange's symbols, a CRM's channels) into the one
// iterable the task yields. One pending `next()` per generator keeps backpressure: a partition does not
// run ahead of what the runtime has taken.
//
// No `Promise.race` over the pending calls: each race attaches one more reaction to every promise still
// pending, and a quiet symbol's promise can stay pending for hours while a busy one yields thousands of
// batches a second; each of those reactions keeps its race's result (a batch of records) reachable, a leak
// at the rate trades flow. Here each pending call gets exactly one reaction, which queues its result.

type Settled<T> = { i: number; r: IteratorResult<T> } | { i: number; error: unknown };

/** `stop` runs first when the merge ends (e.g. aborting the generators' signal), so that returning
 * generators that are mid-await settle instead of waiting for their next item. */
export async function* mergeIterators<T>(iters: AsyncIterator<T>[], stop: () => void): AsyncGenerator<T> {
  const ready: Settled<T>[] = [];
  let wake: (() => void) | undefined;
  let pending = 0;
  const settle = (s: Settled<T>) => {
    ready.push(s);
    wake?.();
    wake = undefined;
  };
  const pull = (i: number) => {
    pending++;
    iters[i]!.next().then(
      (r) => settle({ i, r }),
      (error: unknown) => settle({ i, error }),
    );
  };
  iters.forEach((_, i) => pull(i));
  try {
    while (pending > 0) {
      if (ready.length === 0) await new Promise<void>((resolve) => (wake = resolve));
      // In the order they settled; at most one entry per follower, so shift() stays cheap.
      const s = ready.shift()!;
      pending--;
      if ('error' in s) throw s.error;
      if (s.r.done) continue;
      pull(s.i);
      yield s.r.value;
    }
  } finally {
    stop();
    // Errors of the others no longer matter once one failed or the consumer stopped (each pending call
    // already has its handler, so none surfaces as unhandled).
    await Promise.allSettled(iters.map((it) => it.return?.()));
  }
}
