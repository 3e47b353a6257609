// The worker's web dashboard: connectors and tasks, throughput over time, lag, dead letters and the
// latest alerts with their evidence, served on `worker.http` (`/`, data at `/dashboard/data`). Each
// worker serves its own view: in a group, task states and owners are the group's, while records,
// throughput, lag and dead letters are what this worker committed.
import type { Logger } from '@tributary/sdk';
import type { TributaryConfig } from '../config.ts';
import { createKafkaClient, type KafkaClient } from '../kafka/client.ts';
import { kafkaSettings } from '../kafka-setup.ts';
import type { Metrics } from '../metrics.ts';
import type { Control } from '../operator.ts';
import type { CommitObserver } from '../task-runner.ts';
import { followAlerts, type AlertFeed } from './alerts.ts';
import { buildSnapshot, type DashboardData } from './data.ts';
import { createDeadLetterLog } from './dead-letters.ts';
import { createThroughput } from './throughput.ts';

export type { DashboardData, ConnectorRow, TaskRow } from './data.ts';
export type { AlertView, AlertsState } from './alerts.ts';
export { serveDashboard, isDashboardPath } from './serve.ts';

export interface Dashboard {
  /** Pass to the worker (`WorkerDeps.onCommit`): counts records and dead letters as they commit. */
  onCommit: CommitObserver;
  snapshot(control: Control): Promise<DashboardData>;
  /** Resolves once the dashboard's timers and consumer have stopped (after the signal). */
  done: Promise<void>;
}

export interface DashboardDeps {
  config: TributaryConfig;
  metrics: Metrics;
  logger: Logger;
  /** Stops the sampler and the alerts consumer (the worker's shutdown signal). */
  signal: AbortSignal;
  /** For the alerts consumer; by default a client of its own, closed on abort. */
  kafka?: KafkaClient;
  /** Throughput sample interval and window (default 2 s over 10 min). */
  sampleMs?: number;
  windowMs?: number;
  /** Dead letters kept for the "latest" list. */
  deadLetters?: number;
}

export function createDashboard(deps: DashboardDeps): Dashboard {
  const sampleMs = deps.sampleMs ?? 2_000;
  const windowMs = deps.windowMs ?? 10 * 60_000;
  const startedAt = Date.now();
  const throughput = createThroughput({ intervalMs: sampleMs, windowMs });
  const dead = createDeadLetterLog(deps.deadLetters ?? 10);
  throughput.sample(startedAt);
  // One timer for the whole dashboard; unref'd so it never keeps a stopping worker alive.
  const timer = setInterval(() => throughput.sample(Date.now()), sampleMs);
  timer.unref();

  const settings = deps.config.worker.dashboard;
  let feed: AlertFeed | null = null;
  let kafka: KafkaClient | null = null;
  if (settings?.alertsTopic && !deps.signal.aborted) {
    kafka =
      deps.kafka ??
      createKafkaClient(kafkaSettings(deps.config), deps.logger.child({ component: 'dashboard-kafka' }));
    feed = followAlerts({
      kafka,
      topic: settings.alertsTopic,
      keep: settings.alerts,
      logger: deps.logger,
      signal: deps.signal,
    });
  }
  const done = new Promise<void>((resolve) => {
    const stop = () => {
      clearInterval(timer);
      void (feed?.done ?? Promise.resolve())
        .then(() => (deps.kafka ? undefined : kafka?.close()))
        .then(() => resolve());
    };
    if (deps.signal.aborted) stop();
    else deps.signal.addEventListener('abort', stop, { once: true });
  });

  return {
    onCommit(connector, taskId, records, _commitMs, deadLetters) {
      throughput.add(connector, records);
      dead.add(connector, taskId, deadLetters);
    },
    snapshot: (control) =>
      buildSnapshot({
        control,
        metrics: deps.metrics,
        startedAt,
        now: Date.now(),
        sampleMs,
        windowMs,
        totals: throughput.totals(),
        throughput: throughput.series(),
        deadLetters: { counts: dead.counts(), recent: dead.recent() },
        alerts: feed?.state() ?? null,
      }),
    done,
  };
}
