// The benchmark's side of the IPC link to its worker process: waits for messages by type, keeps the
// latest tick and the commit progress the max-rate simulators are paced by.
import type { ChildProcess } from 'node:child_process';
import type { FromWorker, ToWorker } from './exchange-worker.ts';

export type Tick = Extract<FromWorker, { type: 'tick' }>;
type Message<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

export interface IntervalMemory {
  rssMean: number;
  /** The lowest reading: memory right after a collection, what a leak raises. */
  rssMin: number;
  rssMax: number;
  heapMean: number;
  heapMin: number;
}

export interface WorkerLink {
  child: ChildProcess;
  /** The newest once-a-second tick (undefined before the first). */
  lastTick(): Tick | undefined;
  /** The worker's failure, if it reported one. */
  error(): string | undefined;
  exited: Promise<number | null>;
  /** The next message of `type` that `accept` takes; rejects after `timeoutMs` or when the worker exits. */
  next<T extends FromWorker['type']>(
    type: T,
    timeoutMs: number,
    accept?: (m: Message<T>) => boolean,
  ): Promise<Message<T>>;
  /** RSS and heap used (bytes) over the once-a-second ticks since the previous call: mean and floor. */
  takeInterval(): IntervalMemory;
  send(m: ToWorker): void;
}

/** `committed` is kept up to date with the last committed trade id per `<venue>:<unified symbol>`. */
export function linkWorker(child: ChildProcess, committed: Map<string, number>): WorkerLink {
  let waiters: ((m: FromWorker) => boolean)[] = [];
  let lastTick: Tick | undefined;
  let error: string | undefined;
  const fresh = () => ({ rss: 0, heap: 0, n: 0, rssMin: Infinity, rssMax: 0, heapMin: Infinity });
  let acc = fresh();
  child.on('message', (m: FromWorker) => {
    if (m.type === 'tick') {
      lastTick = m;
      acc.rss += m.rss;
      acc.heap += m.heapUsed;
      acc.n++;
      acc.rssMin = Math.min(acc.rssMin, m.rss);
      acc.rssMax = Math.max(acc.rssMax, m.rss);
      acc.heapMin = Math.min(acc.heapMin, m.heapUsed);
    } else if (m.type === 'committed') {
      for (const [k, v] of Object.entries(m.ids)) committed.set(k, v);
    } else if (m.type === 'error') {
      error = m.message;
      process.stderr.write(`worker error: ${m.message}\n`);
    }
    waiters = waiters.filter((w) => !w(m));
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    lastTick: () => lastTick,
    error: () => error,
    exited,
    next(type, timeoutMs, accept = () => true) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`worker: no ${type} within ${timeoutMs} ms`)),
          timeoutMs,
        );
        void exited.then((code) => reject(new Error(`worker exited (${code}) while waiting for ${type}`)));
        waiters.push((m) => {
          if (m.type !== type || !accept(m as Message<typeof type>)) return false;
          clearTimeout(timer);
          resolve(m as Message<typeof type>);
          return true;
        });
      });
    },
    takeInterval() {
      const a = acc;
      acc = fresh();
      if (a.n === 0) {
        const rss = lastTick?.rss ?? 0;
        const heap = lastTick?.heapUsed ?? 0;
        return { rssMean: rss, rssMin: rss, rssMax: rss, heapMean: heap, heapMin: heap };
      }
      return {
        rssMean: a.rss / a.n,
        rssMin: a.rssMin,
        rssMax: a.rssMax,
        heapMean: a.heap / a.n,
        heapMin: a.heapMin,
      };
    },
    send: (m) => void child.send(m),
  };
}
