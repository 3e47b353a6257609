// The worker. Standalone (no `worker.group`): it creates the topics and runs every task of every connector
// itself, restarting failed tasks from their committed offsets with jittered backoff and stopping fenced
// ones for good; it ends when every task has ended. With `worker.group` it is one member of a group that
// shares the tasks (cluster.ts).
import type { Logger } from '@tributary/sdk';
import type { TributaryConfig } from './config.ts';
import { ConfigError } from './config.ts';
import { startClusterWorker } from './cluster.ts';
import { buildConnectorSet } from './connector-set.ts';
import { allTasks, createEngine, followRequests, resolveWorkerId } from './engine.ts';
import { createKafkaClient, type KafkaClient } from './kafka/client.ts';
import { kafkaSettings, prepareTopics } from './kafka-setup.ts';
import type { Metrics } from './metrics.ts';
import { createControl, type Control, type ReloadResult } from './operator.ts';
import type { ResolvedConnector } from './registry.ts';
import { logReload, prepareReload, type LoadConfig } from './reload.ts';
import { memoryStateStore } from './state-store.ts';
import type { CommitObserver } from './task-runner.ts';
import type { TaskStatus } from './tasks.ts';

export { kafkaSettings } from './kafka-setup.ts';
export { topicNamer, transactionalId, type TaskStatus, type TaskStateName } from './tasks.ts';

export interface Worker {
  /** This worker's tasks. */
  status(): TaskStatus[];
  /** Resolves when the worker has stopped (standalone: also when every task has ended). */
  done: Promise<void>;
  /** The operator API (HTTP and CLI use it). */
  control: Control;
  /** Reloads the config file (SIGHUP). */
  reload(): Promise<ReloadResult>;
}

export interface WorkerDeps {
  config: TributaryConfig;
  connectors: ResolvedConnector[];
  logger: Logger;
  metrics: Metrics;
  signal: AbortSignal;
  /** Id in logs, metrics and the operator API; default config `worker.id`, TRIBUTARY_WORKER_ID, host-pid. */
  workerId?: string;
  /** Reads the config file again for reloads; without it a reload answers 400. */
  loadConfig?: LoadConfig;
  /** Injected for tests; by default one client for the worker. */
  kafka?: KafkaClient;
  /** Observer of every commit (benchmarks record latencies with it; the dashboard counts records and
   * dead letters). */
  onCommit?: CommitObserver;
}

export function startWorker(deps: WorkerDeps): Worker {
  if (deps.config.worker.group) return startClusterWorker(deps);
  const { config: cfg, metrics, signal } = deps;
  const workerId = resolveWorkerId(cfg, deps.workerId);
  const logger = deps.logger;
  const kafka = deps.kafka ?? createKafkaClient(kafkaSettings(cfg), logger.child({ component: 'kafka' }));
  const store = memoryStateStore();
  const engine = createEngine({
    config: cfg,
    workerId,
    kafka,
    logger,
    metrics,
    signal,
    store,
    onFenced: 'fail',
    ...(deps.onCommit ? { onCommit: deps.onCommit } : {}),
  });
  followRequests(store, engine);

  let reloading = Promise.resolve<unknown>(null);
  const reload = (): Promise<ReloadResult> => {
    const run = async () => {
      if (!deps.loadConfig) throw new ConfigError('this worker was started without a config file to reload');
      const { set, result } = await prepareReload(cfg, engine, deps.loadConfig);
      await prepareTopics(
        kafka,
        cfg,
        [...set.connectors.values()].map((c) => c.resolved),
        logger,
        signal,
      );
      engine.setConnectors(set);
      engine.setAssigned(allTasks(set));
      logReload(logger, result);
      return result;
    };
    const p = reloading.then(run, run);
    reloading = p.catch(() => {});
    return p;
  };

  const control = createControl({
    mode: 'standalone',
    workerId,
    config: cfg,
    engine,
    store,
    kafka,
    logger,
    reload,
  });

  const done = (async () => {
    try {
      await prepareTopics(kafka, cfg, deps.connectors, logger, signal);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    const set = buildConnectorSet(deps.connectors);
    engine.setConnectors(set);
    engine.setAssigned(allTasks(set));
    const aborted = new Promise<void>((r) =>
      signal.aborted ? r() : signal.addEventListener('abort', () => r(), { once: true }),
    );
    await Promise.race([engine.whenIdle(), aborted]);
    await engine.stopAll();
  })().finally(() => (deps.kafka ? undefined : kafka.close()));

  return { status: () => engine.status(), done, control, reload };
}
