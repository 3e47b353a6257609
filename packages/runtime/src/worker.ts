// The worker: creates topics, runs every task of every connector, restarts failed tasks from their
// committed offsets with jittered backoff, stops fenced tasks for good.
import type { JsonValue, Logger } from '@tributary/sdk';
import { errorMessage, isFatal, sleep } from '@tributary/sdk';
import type { TributaryConfig } from './config.ts';
import { createKafkaClient, type KafkaClient } from './kafka/client.ts';
import { isConnectionError } from './kafka/errors.ts';
import type { Metrics } from './metrics.ts';
import type { ResolvedConnector } from './registry.ts';
import { runTask } from './task-runner.ts';

export type TaskStateName = 'starting' | 'running' | 'restarting' | 'failed' | 'stopped' | 'finished';

export interface TaskStatus {
  connector: string;
  taskId: number;
  type: string;
  state: TaskStateName;
  records: number;
  transactions: number;
  offsets: Record<string, JsonValue>;
  lastError: string | null;
  failingSince: string | null;
  restarts: number;
}

export interface Worker {
  status(): TaskStatus[];
  /** Resolves when every task has ended (finished, failed or stopped). */
  done: Promise<void>;
}

export interface WorkerDeps {
  config: TributaryConfig;
  connectors: ResolvedConnector[];
  logger: Logger;
  metrics: Metrics;
  signal: AbortSignal;
  /** Injected for tests; by default one client for the worker. */
  kafka?: KafkaClient;
  /** Observer of every commit (benchmarks record latencies with it). */
  onCommit?: (connector: string, taskId: number, records: number, commitMs: number) => void;
}

export function topicNamer(cfg: TributaryConfig): (logical: string) => string {
  return (logical) => cfg.topics.names[logical] ?? `${cfg.topics.prefix}${logical}`;
}

export function transactionalId(cfg: TributaryConfig, connector: string, taskId: number): string {
  return `${cfg.kafka.transactionalIdPrefix}-${connector}-${taskId}`;
}

export function kafkaSettings(cfg: TributaryConfig) {
  const brokers = cfg.kafka.brokers;
  if (brokers === 'embedded') throw new Error('embedded Kafka must be started before the worker');
  return {
    brokers,
    clientId: cfg.kafka.clientId,
    ssl: cfg.kafka.ssl,
    ...(cfg.kafka.sasl ? { sasl: { ...cfg.kafka.sasl, password: cfg.kafka.sasl.password.reveal() } } : {}),
    transactionTimeoutMs: cfg.kafka.transactionTimeoutMs,
    connectionTimeoutMs: cfg.kafka.connectionTimeoutMs,
    requestTimeoutMs: cfg.kafka.requestTimeoutMs,
  };
}

/** Creates the offsets topic and every topic the connectors write; retries while Kafka is unreachable. */
async function prepareTopics(deps: WorkerDeps, kafka: KafkaClient): Promise<void> {
  const { config: cfg, logger, signal } = deps;
  const name = topicNamer(cfg);
  const logical = new Set(deps.connectors.flatMap((c) => c.source.topics(c.config)));
  logical.add('deadletter');
  const specs = [
    {
      topic: cfg.topics.offsetsTopic,
      numPartitions: cfg.topics.offsetsPartitions,
      replicationFactor: cfg.topics.replicationFactor,
      configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
    },
    ...[...logical].map((l) => ({
      topic: name(l),
      numPartitions: cfg.topics.partitions,
      replicationFactor: cfg.topics.replicationFactor,
      configEntries: Object.entries({ ...cfg.topics.configs['*'], ...cfg.topics.configs[l] }).map(
        ([name, value]) => ({ name, value }),
      ),
    })),
  ];
  for (let attempt = 1; ; attempt++) {
    try {
      await kafka.ensureTopics(specs);
      return;
    } catch (err) {
      const delay = backoff(attempt);
      logger.error(
        { brokers: cfg.kafka.brokers, attempt, retryInMs: delay },
        isConnectionError(err)
          ? `Kafka unreachable: ${errorMessage(err)}`
          : `cannot create topics: ${errorMessage(err)}`,
      );
      await sleep(delay, signal);
    }
  }
}

/** Exponential backoff with full jitter, capped at 30 s. */
function backoff(attempt: number): number {
  const cap = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 10));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

export function startWorker(deps: WorkerDeps): Worker {
  const { config: cfg, logger, metrics, signal } = deps;
  const kafka = deps.kafka ?? createKafkaClient(kafkaSettings(cfg), logger.child({ component: 'kafka' }));
  const name = topicNamer(cfg);
  const tasks: TaskStatus[] = [];

  const superviseTask = async (
    c: ResolvedConnector,
    taskId: number,
    taskConfig: unknown,
    status: TaskStatus,
  ) => {
    const labels = { connector: c.connector.name, task: String(taskId) };
    const log = logger.child({ connector: c.connector.name, task: taskId });
    let attempt = 0;
    while (!signal.aborted) {
      const started = Date.now();
      try {
        const result = await runTask({
          connector: c.connector.name,
          taskId,
          transactionalId: transactionalId(cfg, c.connector.name, taskId),
          source: c.source,
          taskConfig,
          batch: c.connector.batch,
          offsetsTopic: cfg.topics.offsetsTopic,
          transactionTimeoutMs: cfg.kafka.transactionTimeoutMs,
          topicName: name,
          kafka,
          logger: log,
          metrics,
          signal,
          onRunning: () => {
            status.state = 'running';
            status.failingSince = null;
            metrics.taskState.set(labels, 1);
          },
          onCommit: (offsets, records, commitMs) => {
            deps.onCommit?.(c.connector.name, taskId, records, commitMs);
            status.records += records;
            status.transactions += 1;
            for (const [p, o] of offsets) status.offsets[p] = o;
          },
        });
        status.state = result;
        log.info(`task ${result}`);
        break;
      } catch (err) {
        metrics.taskState.set(labels, 0);
        status.lastError = errorMessage(err);
        if (signal.aborted) break;
        if (isFatal(err)) {
          status.state = 'failed';
          status.failingSince ??= new Date().toISOString();
          metrics.errors.inc({ ...labels, kind: 'fatal' });
          log.error({ err: status.lastError }, 'task failed and will not be restarted');
          break;
        }
        // A task that ran a while before failing starts its backoff afresh.
        attempt = Date.now() - started > 60_000 ? 1 : attempt + 1;
        const delay = backoff(attempt);
        status.state = 'restarting';
        status.restarts += 1;
        status.failingSince ??= new Date().toISOString();
        metrics.errors.inc({ ...labels, kind: isConnectionError(err) ? 'connection' : 'retryable' });
        metrics.restarts.inc(labels);
        log.warn(
          { err: status.lastError, attempt, retryInMs: delay },
          'task failed; restarting from committed offsets',
        );
        await sleep(delay, signal).catch(() => {});
      }
    }
    metrics.taskState.set(labels, 0);
    if (status.state === 'running' || status.state === 'restarting' || status.state === 'starting')
      status.state = 'stopped';
  };

  const done = (async () => {
    try {
      await prepareTopics(deps, kafka);
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
    const runs: Promise<void>[] = [];
    for (const c of deps.connectors) {
      const specs = c.source.tasks
        ? c.source.tasks(c.config, c.connector.tasksMax)
        : [{ taskId: 0, config: c.config }];
      for (const spec of specs) {
        const status: TaskStatus = {
          connector: c.connector.name,
          taskId: spec.taskId,
          type: c.connector.type,
          state: 'starting',
          records: 0,
          transactions: 0,
          offsets: {},
          lastError: null,
          failingSince: null,
          restarts: 0,
        };
        tasks.push(status);
        runs.push(superviseTask(c, spec.taskId, spec.config, status));
      }
    }
    await Promise.all(runs);
  })().finally(() => (deps.kafka ? undefined : kafka.close()));

  return { status: () => tasks.map((t) => ({ ...t, offsets: { ...t.offsets } })), done };
}
