// `run --threads N`: one worker process, N processor threads. Each thread is a member of the processor's
// consumer group with its own kafkajs clients, engine and heap, and the co-partitioned assignor deals the
// tasks between them as between processes (Kafka Streams' num.stream.threads). A JavaScript thread runs
// on one core, so this is how one worker uses several. Only for `partitioned: true` or a `rekey` section
// (which implies it): an unpartitioned processor has one task, and a second thread would fence the first.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { CommitInfo } from './processor.ts';

export interface ThreadData {
  configFile: string;
  thread: number;
}

/** What a processor thread reports to the main thread (for the process's metrics). */
export type ThreadEvent = { commit: CommitInfo } | { restart: { attempt: number; error: string } };

/** Starts `n` processor threads on `configFile` and resolves when all have stopped after `signal` aborts.
 * A thread that fails stops the others, and the error is thrown. */
export async function runThreads(
  configFile: string,
  n: number,
  logger: Logger,
  signal: AbortSignal,
  onEvent: (e: ThreadEvent) => void = () => {},
): Promise<void> {
  const workers = Array.from(
    { length: n },
    (_, thread) =>
      new Worker(bootstrap(new URL('./processor-thread.ts', import.meta.url)), {
        eval: true,
        workerData: { configFile, thread } satisfies ThreadData,
      }),
  );
  const stopAll = () => {
    for (const w of workers) w.postMessage('stop');
  };
  signal.addEventListener('abort', stopAll, { once: true });
  let failure: unknown = null;
  try {
    await Promise.all(
      workers.map(
        (w, thread) =>
          new Promise<void>((resolve) => {
            w.once('error', (err) => {
              logger.error({ err, thread }, 'processor thread failed; stopping the others');
              failure ??= err;
              stopAll();
            });
            w.on('message', (m: ThreadEvent) => onEvent(m));
            w.once('exit', () => resolve());
          }),
      ),
    );
  } finally {
    signal.removeEventListener('abort', stopAll);
  }
  if (failure) throw failure;
}

/** The worker's entry: the TypeScript module, after registering tsx in the thread (a worker does not
 * inherit the `--import tsx` loader of the process, so a `.ts` entry would fail with "Unknown file
 * extension"). tsx is resolved from here, not from the working directory. */
function bootstrap(entry: URL): string {
  const tsx = import.meta.resolve('tsx/esm/api');
  return (
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); ` +
    `return import(${JSON.stringify(entry.href)}); })`
  );
}
