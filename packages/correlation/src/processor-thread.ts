// One processor thread of `run --threads N` (see threads.ts): the config's processor, stopped by a 'stop'
// message from the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { pino } from 'pino';
import { loadConfig, processorOptionsOf } from './config.ts';
import { runProcessor } from './processor.ts';
import type { ThreadData, ThreadEvent } from './threads.ts';

const { configFile, thread } = workerData as ThreadData;
const logger = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { pid: process.pid, thread } });
const controller = new AbortController();
parentPort?.on('message', (m) => {
  if (m === 'stop') controller.abort(new Error('stop'));
});
// Commits and restarts go to the main thread, which serves the metrics of the whole process.
await runProcessor(
  processorOptionsOf(loadConfig(configFile), {
    logger,
    signal: controller.signal,
    onCommit: (info) => parentPort?.postMessage({ commit: info } satisfies ThreadEvent),
    onRestart: (info) => parentPort?.postMessage({ restart: info } satisfies ThreadEvent),
  }),
);
logger.info('processor thread stopped');
parentPort?.close();
