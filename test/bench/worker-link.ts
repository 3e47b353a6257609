// The benchmark's side of the IPC link to its worker process: waits for messages by type, keeps the
// latest tick and the commit progress the max-rate simulators are paced by.
import type { ChildProcess } from 'node:child_process';
import type { FromWorker, ToWorker } from './exchange-worker.ts';

export type Tick = Extract<FromWorker, { type: 'tick' }>;
type Message<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

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
  /** Mean RSS and heap used (bytes) over the ticks since the previous call: the GC sawtooth averaged out. */
  takeMeans(): { rss: number; heap: number };
  send(m: ToWorker): void;
}

/** `committed` is kept up to date with the last committed trade id per `<venue>:<unified symbol>`. */
export function linkWorker(child: ChildProcess, committed: Map<string, number>): WorkerLink {
  let waiters: ((m: FromWorker) => boolean)[] = [];
  let lastTick: Tick | undefined;
  let error: string | undefined;
  let acc = { rss: 0, heap: 0, n: 0 };
  child.on('message', (m: FromWorker) => {
    if (m.type === 'tick') {
      lastTick = m;
      acc.rss += m.rss;
      acc.heap += m.heapUsed;
      acc.n++;
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
    takeMeans() {
      const { rss, heap, n } = acc;
      acc = { rss: 0, heap: 0, n: 0 };
      if (n) return { rss: rss / n, heap: heap / n };
      return { rss: lastTick?.rss ?? 0, heap: lastTick?.heapUsed ?? 0 };
    },
    send: (m) => void child.send(m),
  };
}
