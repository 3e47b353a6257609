import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { mergeIterators } from '../src/index.ts';

async function* from<T>(items: T[]): AsyncGenerator<T> {
  for (const x of items) {
    await new Promise((r) => setImmediate(r));
    yield x;
  }
}

/** Never yields (a symbol with no trades) until `release` is called. */
function quiet(): { iter: AsyncGenerator<never>; release(): void } {
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  return {
    iter: (async function* () {
      await gate;
    })(),
    release: () => release(),
  };
}

/** A full GC from inside the test (vitest gives no flags to its workers). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('mergeIterators', () => {
  it('yields every value of every iterator, each iterator in its own order', async () => {
    const got: string[] = [];
    let stopped = 0;
    for await (const v of mergeIterators(
      [from(['a1', 'a2', 'a3']), from(['b1', 'b2']), from([])],
      () => stopped++,
    ))
      got.push(v);
    expect([...got].sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    expect(got.filter((v) => v.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(got.filter((v) => v.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(stopped).toBe(1);
  });

  it("ends with an iterator's error, after stopping and returning the others", async () => {
    const q = quiet();
    let stopped = false;
    const failing = (async function* () {
      yield 1;
      throw new Error('venue gone');
    })();
    const merged = mergeIterators<number>([failing, q.iter], () => {
      stopped = true;
      q.release(); // as the follower's abort signal would
    });
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const v of merged) got.push(v);
      })(),
    ).rejects.toThrow('venue gone');
    expect(got).toEqual([1]);
    expect(stopped).toBe(true);
    expect(await q.iter.next()).toEqual({ done: true, value: undefined });
  });

  it('keeps nothing of what a busy iterator yields while another stays quiet', async () => {
    const q = quiet();
    const refs: WeakRef<object>[] = [];
    const busy = (async function* () {
      for (let i = 0; i < 2_000; i++) {
        await Promise.resolve();
        const batch = { records: new Array(50).fill(i) };
        refs.push(new WeakRef(batch));
        yield batch;
      }
      q.release();
    })();
    let n = 0;
    // Stopping releases the quiet one (as the followers' abort signal does), so a failure here ends the test.
    for await (const _batch of mergeIterators<object>([q.iter, busy], () => q.release())) {
      // Check while the quiet iterator is still pending: nothing yielded earlier may still be reachable.
      if (++n !== 1_900) continue;
      await new Promise((r) => setImmediate(r)); // WeakRefs hold their target until the turn ends
      collectGarbage();
      // Racing the pending calls kept all 1,800; a stray one or two may survive a GC for V8's own reasons.
      const alive = refs.slice(0, 1_800).filter((r) => r.deref() !== undefined).length;
      expect(alive).toBeLessThan(100);
    }
    expect(n).toBe(2_000);
  });
});
