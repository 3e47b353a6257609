// Fan-in of per-partition batch generators into the one iterable a task yields. One pending `next()`
// per generator keeps backpressure: a partition does not run ahead of what the runtime has taken.
export async function* mergeIterators<T>(iters: AsyncIterator<T>[], stop: () => void): AsyncGenerator<T> {
  const pending = new Map<number, Promise<{ i: number; r: IteratorResult<T> }>>();
  const pull = (i: number) =>
    pending.set(
      i,
      iters[i]!.next().then((r) => ({ i, r })),
    );
  iters.forEach((_, i) => pull(i));
  try {
    while (pending.size > 0) {
      const { i, r } = await Promise.race(pending.values());
      if (r.done) {
        pending.delete(i);
        continue;
      }
      pull(i);
      yield r.value;
    }
  } finally {
    stop();
    // The others' errors no longer matter once one failed or the consumer stopped.
    for (const p of pending.values()) p.catch(() => {});
    await Promise.allSettled(iters.map((it) => it.return?.()));
  }
}
