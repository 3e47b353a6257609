// `tributary run`: load and validate config, start embedded Kafka if asked, run the worker until a
// signal, then shut down cleanly (open transactions finished, producers closed).
import type { Logger } from '@tributary/sdk';
import { loadConfigFile, parseConfig, type TributaryConfig } from './config.ts';
import { startProgress } from './progress.ts';
import { resolveConnectors } from './registry.ts';
import { resolveWorkerId } from './engine.ts';
import type { ReloadResult } from './operator.ts';
import { startServedWorker } from './served-worker.ts';
import type { TaskStatus } from './worker.ts';

export interface RunOptions {
  configFile?: string;
  only?: string[];
  logger: Logger;
  signal: AbortSignal;
  progress?: boolean;
  /** Gives the caller the worker's reload function (the CLI calls it on SIGHUP). */
  onReloadable?: (reload: () => Promise<ReloadResult>) => void;
}

export interface EmbeddedKafka {
  brokers: string[];
  close(): Promise<void>;
}

/** Starts the dev broker from `@tributary/testkit` (a devDependency: only in a source checkout). */
async function startEmbeddedKafka(logger: Logger): Promise<EmbeddedKafka> {
  let testkit: { startKafka: () => Promise<EmbeddedKafka> };
  try {
    testkit = (await import('@tributary/testkit')) as typeof testkit;
  } catch {
    throw new Error(
      'kafka.brokers is "embedded" but @tributary/testkit is not installed: set KAFKA_BROKERS or kafka.brokers',
    );
  }
  logger.info('starting embedded Kafka (Apache Kafka from Maven Central; first start downloads the jars)');
  const k = await testkit.startKafka();
  logger.info({ brokers: k.brokers }, 'embedded Kafka ready');
  return k;
}

export type RunResult = { exitCode: number; tasks: TaskStatus[] };

export async function runFromConfig(opts: RunOptions): Promise<RunResult> {
  const { path, raw } = await loadConfigFile(opts.configFile);
  const cfg: TributaryConfig = parseConfig(raw);
  const connectors = await resolveConnectors(cfg, path, opts.only);
  const workerId = resolveWorkerId(cfg);
  const log = opts.logger.child({ worker: workerId });
  if (connectors.length === 0) log.warn('no connectors configured; nothing to run');

  let embedded: EmbeddedKafka | null = null;
  if (cfg.kafka.brokers === 'embedded') {
    embedded = await startEmbeddedKafka(log);
    cfg.kafka.brokers = embedded.brokers;
  }
  const brokers = cfg.kafka.brokers;
  const loadConfig = async () => {
    const again = await loadConfigFile(path, { fresh: true });
    const next = parseConfig(again.raw);
    // The embedded broker keeps running: a reload must not see 'embedded' as a change of brokers.
    if (next.kafka.brokers === 'embedded') next.kafka.brokers = brokers;
    return { config: next, connectors: await resolveConnectors(next, path, opts.only) };
  };
  const { worker, http, close } = await startServedWorker({
    config: cfg,
    connectors,
    logger: log,
    signal: opts.signal,
    workerId,
    loadConfig,
  }).catch(async (err: unknown) => {
    await embedded?.close();
    throw err;
  });
  opts.onReloadable?.(worker.reload);
  if (http) log.info({ url: http.url }, 'operator API, health, metrics and status served');
  if (http) log.info({ dashboard: `${http.url}/` }, 'dashboard served');
  const stopProgress = opts.progress ? startProgress(worker.status) : null;
  try {
    await worker.done;
  } finally {
    stopProgress?.();
    await close();
    await embedded?.close();
  }
  const tasks = worker.status();
  const failed = tasks.filter((t) => t.state === 'failed');
  for (const t of failed)
    log.error({ connector: t.connector, task: t.taskId, err: t.lastError }, 'task failed');
  const fenced = failed.length > 0 && failed.every((t) => /fenced/.test(t.lastError ?? ''));
  return { exitCode: failed.length === 0 ? 0 : fenced ? EXIT.FENCED : EXIT.FAILED, tasks };
}

export const EXIT = { OK: 0, FAILED: 1, CONFIG: 2, FENCED: 3 } as const;
