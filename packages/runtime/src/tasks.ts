// One task's supervision: run it, restart it from its committed offsets with jittered backoff when it
// fails, stop it for good when it is fenced or fails fatally.
import type { JsonValue, Logger } from '@tributary/sdk';
import { errorMessage, isFatal, sleep } from '@tributary/sdk';
import type { TributaryConfig } from './config.ts';
import type { TaskDef } from './connector-set.ts';
import type { KafkaClient } from './kafka/client.ts';
import { isConnectionError } from './kafka/errors.ts';
import type { Metrics } from './metrics.ts';
import { FencedError, runTask, type CommitObserver } from './task-runner.ts';

export type TaskStateName =
  | 'starting'
  | 'running'
  | 'restarting'
  | 'paused'
  | 'failed'
  /** Fenced in a group: another worker took the task over; it stays stopped here. */
  | 'fenced'
  | 'stopped'
  | 'finished';

export interface TaskStatus {
  connector: string;
  taskId: number;
  type: string;
  state: TaskStateName;
  worker: string;
  records: number;
  transactions: number;
  offsets: Record<string, JsonValue>;
  lastError: string | null;
  failingSince: string | null;
  restarts: number;
  /** Times the task started on this worker (fenced in, offsets read, source running). */
  starts: number;
}

export function topicNamer(cfg: TributaryConfig): (logical: string) => string {
  return (logical) => cfg.topics.names[logical] ?? `${cfg.topics.prefix}${logical}`;
}

export function transactionalId(cfg: TributaryConfig, connector: string, taskId: number): string {
  return `${cfg.kafka.transactionalIdPrefix}-${connector}-${taskId}`;
}

/** Exponential backoff with full jitter, capped at 30 s. */
export function backoff(attempt: number): number {
  const cap = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 10));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

export function newTaskStatus(def: TaskDef, worker: string): TaskStatus {
  return {
    connector: def.connector,
    taskId: def.taskId,
    type: def.resolved.connector.type,
    state: 'starting',
    worker,
    records: 0,
    transactions: 0,
    offsets: {},
    lastError: null,
    failingSince: null,
    restarts: 0,
    starts: 0,
  };
}

export interface SuperviseDeps {
  config: TributaryConfig;
  kafka: KafkaClient;
  logger: Logger;
  metrics: Metrics;
  /** 'fail': a fenced task failed (standalone: the process exits 3 when nothing else runs). 'yield': in a
   * group, being fenced means the task moved; it stops here quietly. */
  onFenced: 'fail' | 'yield';
  onCommit?: CommitObserver;
}

/** Runs the task until `signal` aborts, it finishes, or it fails for good. `changed` is called after every
 * state change of `status`. */
export async function superviseTask(
  deps: SuperviseDeps,
  def: TaskDef,
  status: TaskStatus,
  signal: AbortSignal,
  changed: () => void,
): Promise<void> {
  const { config: cfg, metrics } = deps;
  const labels = { connector: def.connector, task: String(def.taskId) };
  const log = deps.logger;
  const c = def.resolved;
  let attempt = 0;
  let firstCommit = true;
  status.state = 'starting';
  changed();
  while (!signal.aborted) {
    const started = Date.now();
    try {
      const result = await runTask({
        connector: def.connector,
        taskId: def.taskId,
        transactionalId: transactionalId(cfg, def.connector, def.taskId),
        source: c.source,
        taskConfig: def.config,
        batch: c.connector.batch,
        offsetsTopic: cfg.topics.offsetsTopic,
        transactionTimeoutMs: cfg.kafka.transactionTimeoutMs,
        topicName: topicNamer(cfg),
        kafka: deps.kafka,
        logger: log,
        metrics,
        signal,
        onRunning: () => {
          status.state = 'running';
          status.failingSince = null;
          status.starts += 1;
          metrics.taskState.set(labels, 1);
          metrics.taskStarts.inc(labels);
          firstCommit = true;
          changed();
        },
        onCommit: (offsets, records, commitMs, deadLetters) => {
          deps.onCommit?.(def.connector, def.taskId, records, commitMs, deadLetters);
          status.records += records;
          status.transactions += 1;
          for (const [p, o] of offsets) status.offsets[p] = o;
          if (firstCommit) {
            // The moment a task (re)started here produces: failover benchmarks measure up to this line.
            firstCommit = false;
            log.info({ records }, 'first transaction committed');
          }
        },
      });
      status.state = result;
      log.info(`task ${result}`);
      changed();
      break;
    } catch (err) {
      metrics.taskState.set(labels, 0);
      status.lastError = errorMessage(err);
      if (signal.aborted) break;
      if (err instanceof FencedError && deps.onFenced === 'yield') {
        status.state = 'fenced';
        status.failingSince ??= new Date().toISOString();
        metrics.errors.inc({ ...labels, kind: 'fenced' });
        log.warn({ err: status.lastError }, 'task fenced by its new owner; stopped here');
        changed();
        break;
      }
      if (isFatal(err)) {
        status.state = 'failed';
        status.failingSince ??= new Date().toISOString();
        metrics.errors.inc({ ...labels, kind: 'fatal' });
        log.error({ err: status.lastError }, 'task failed and will not be restarted');
        changed();
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
      changed();
      await sleep(delay, signal).catch(() => {});
    }
  }
  metrics.taskState.set(labels, 0);
  // The loop may have left mid-run (aborted): `status.state` is then whatever the callbacks set.
  const s = status.state as TaskStatus['state'];
  if (s === 'running' || s === 'restarting' || s === 'starting') {
    status.state = 'stopped';
    changed();
  }
}
