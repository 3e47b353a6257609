// The tasks one worker runs, kept in line with what it should run: the tasks assigned to it (all of them
// when standalone, the group's answer otherwise), minus paused ones, with the config it has now. Every
// input change calls `reconcile()`; each task's start/stop steps run one after another, so the outcome
// does not depend on how changes interleave.
import { hostname } from 'node:os';
import type { Logger } from '@tributary/sdk';
import type { TributaryConfig } from './config.ts';
import type { ConnectorSet, TaskDef } from './connector-set.ts';
import type { KafkaClient } from './kafka/client.ts';
import type { Metrics } from './metrics.ts';
import type { StateStore, TargetState } from './state-store.ts';
import type { CommitObserver } from './task-runner.ts';
import { newTaskStatus, superviseTask, type TaskStatus } from './tasks.ts';

export interface EngineDeps {
  config: TributaryConfig;
  workerId: string;
  kafka: KafkaClient;
  logger: Logger;
  metrics: Metrics;
  /** Aborts every task (shutdown). */
  signal: AbortSignal;
  store: StateStore;
  onFenced: 'fail' | 'yield';
  /** Called after a task's state changed. */
  onTaskState?: (status: TaskStatus) => void;
  onCommit?: CommitObserver;
}

interface Entry {
  def: TaskDef;
  status: TaskStatus;
  run: { abort: AbortController; done: Promise<void> } | null;
  queue: Promise<void>;
  removed: boolean;
}

export interface Engine {
  /** The config this worker has now. */
  connectors(): ConnectorSet;
  setConnectors(set: ConnectorSet): void;
  /** Tasks this worker should run: key -> fingerprint of the config they were assigned with. */
  setAssigned(tasks: ReadonlyMap<string, string>): void;
  assigned(): ReadonlyMap<string, string>;
  /** Re-evaluates after a target (pause/resume) change. */
  reconcile(): void;
  /** Restarts the matching tasks this worker runs (not paused ones). */
  restart(connector: string, taskId?: number): Promise<void>;
  status(): TaskStatus[];
  /** Keys of the tasks this worker holds now. */
  owned(): string[];
  /** Resolves when no task runs, none is paused and no step is pending (standalone: nothing left to do). */
  whenIdle(): Promise<void>;
  /** Stops every task and waits for them. */
  stopAll(): Promise<void>;
}

export function targetOf(store: StateStore, key: string): TargetState {
  const v = store.get(`target/${key}`) as { state?: string } | undefined;
  return v?.state === 'PAUSED' ? 'PAUSED' : 'RUNNING';
}

export function createEngine(deps: EngineDeps): Engine {
  const { logger, metrics, store } = deps;
  let set: ConnectorSet = { connectors: new Map(), tasks: new Map() };
  let assigned = new Map<string, string>();
  const entries = new Map<string, Entry>();
  // Entries on their way out: a successor with the same key starts only after its predecessor stopped.
  const retiring = new Map<string, Promise<void>>();
  let pending = 0;
  let idleWaiters: (() => void)[] = [];

  const isPaused = (def: TaskDef) =>
    targetOf(store, def.connector) === 'PAUSED' || targetOf(store, def.key) === 'PAUSED';

  const checkIdle = () => {
    if (pending > 0 || idleWaiters.length === 0) return;
    for (const e of entries.values()) if (e.run || e.status.state === 'paused') return;
    if (retiring.size > 0) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const changed = (e: Entry) => {
    if (e.removed) return;
    deps.onTaskState?.({ ...e.status, offsets: { ...e.status.offsets } });
  };

  const enqueue = (e: Entry, step: () => Promise<void>): Promise<void> => {
    pending++;
    const p = e.queue
      .then(step)
      .catch((err: unknown) => logger.error({ err, task: e.def.key }, 'task step failed'));
    e.queue = p.finally(() => {
      pending--;
      checkIdle();
    });
    return e.queue;
  };

  const startRun = (e: Entry) => {
    const abort = new AbortController();
    const onShutdown = () => abort.abort(deps.signal.reason);
    if (deps.signal.aborted) return;
    deps.signal.addEventListener('abort', onShutdown, { once: true });
    const log = logger.child({ connector: e.def.connector, task: e.def.taskId });
    const done = superviseTask(
      {
        config: deps.config,
        kafka: deps.kafka,
        logger: log,
        metrics,
        onFenced: deps.onFenced,
        onCommit: deps.onCommit,
      },
      e.def,
      e.status,
      abort.signal,
      () => changed(e),
    )
      .catch((err: unknown) => log.error({ err }, 'task supervisor failed'))
      .finally(() => {
        deps.signal.removeEventListener('abort', onShutdown);
        e.run = null;
        checkIdle();
      });
    e.run = { abort, done };
  };

  const stopRun = async (e: Entry) => {
    const run = e.run;
    if (!run) return;
    run.abort.abort(new Error('task stopped by the worker'));
    await run.done;
  };

  /** Brings one entry in line with its inputs as they are when the step runs. */
  const sync = async (e: Entry) => {
    if (e.removed || deps.signal.aborted) return;
    if (isPaused(e.def)) {
      await stopRun(e);
      if (e.status.state !== 'paused') {
        e.status.state = 'paused';
        logger.info({ connector: e.def.connector, task: e.def.taskId }, 'task paused');
        changed(e);
      }
      return;
    }
    // Fresh entries and resumed ones start; finished, failed and fenced ones wait for a restart.
    if (!e.run && (e.status.state === 'starting' || e.status.state === 'paused')) startRun(e);
  };

  const add = (def: TaskDef) => {
    const e: Entry = {
      def,
      status: newTaskStatus(def, deps.workerId),
      run: null,
      queue: retiring.get(def.key) ?? Promise.resolve(),
      removed: false,
    };
    entries.set(def.key, e);
    void enqueue(e, () => sync(e));
  };

  const remove = (e: Entry) => {
    entries.delete(e.def.key);
    e.removed = true;
    const labels = { connector: e.def.connector, task: String(e.def.taskId) };
    const p = enqueue(e, async () => {
      await stopRun(e);
      metrics.taskState.set(labels, 0);
    }).then(() => {
      if (retiring.get(e.def.key) === p) retiring.delete(e.def.key);
      checkIdle();
    });
    retiring.set(e.def.key, p);
  };

  const reconcile = () => {
    for (const e of [...entries.values()]) {
      const fp = assigned.get(e.def.key);
      const def = set.tasks.get(e.def.key);
      if (fp === undefined || !def || def.fingerprint !== e.def.fingerprint || fp !== def.fingerprint) {
        logger.info(
          { connector: e.def.connector, task: e.def.taskId },
          fp === undefined ? 'task no longer assigned here; stopping it' : 'task config changed; stopping it',
        );
        remove(e);
      } else void enqueue(e, () => sync(e));
    }
    for (const [key, fp] of assigned) {
      const def = set.tasks.get(key);
      if (!def || def.fingerprint !== fp || entries.has(key)) continue;
      add(def);
    }
    metrics.assignedTasks.set(entries.size);
    checkIdle();
  };

  return {
    connectors: () => set,
    setConnectors(next) {
      set = next;
      reconcile();
    },
    setAssigned(tasks) {
      assigned = new Map(tasks);
      reconcile();
    },
    assigned: () => assigned,
    reconcile,
    async restart(connector, taskId) {
      const targets = [...entries.values()].filter(
        (e) => e.def.connector === connector && (taskId === undefined || e.def.taskId === taskId),
      );
      await Promise.all(
        targets.map((e) =>
          enqueue(e, async () => {
            if (e.removed || isPaused(e.def) || deps.signal.aborted) return;
            logger.info({ connector: e.def.connector, task: e.def.taskId }, 'restarting task on request');
            await stopRun(e);
            e.status.lastError = null;
            e.status.failingSince = null;
            startRun(e);
          }),
        ),
      );
    },
    status: () => [...entries.values()].map((e) => ({ ...e.status, offsets: { ...e.status.offsets } })),
    owned: () => [...entries.keys()],
    whenIdle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        checkIdle();
      });
    },
    async stopAll() {
      const all = [...entries.values()];
      await Promise.all(all.map((e) => enqueue(e, () => stopRun(e))));
      await Promise.all([...retiring.values()]);
    },
  };
}

export function resolveWorkerId(cfg: TributaryConfig, explicit?: string): string {
  return explicit ?? cfg.worker.id ?? process.env.TRIBUTARY_WORKER_ID ?? `${hostname()}-${process.pid}`;
}

/** Acts on the shared state's requests: targets (pause/resume) and restarts. */
export function followRequests(store: StateStore, engine: Engine): () => void {
  return store.subscribe((key) => {
    const [kind, connector, task] = key.split('/');
    if (kind === 'target') engine.reconcile();
    else if (kind === 'restart' && connector)
      void engine.restart(connector, task === undefined ? undefined : Number(task));
  });
}

export function allTasks(set: ConnectorSet): Map<string, string> {
  return new Map([...set.tasks.values()].map((t) => [t.key, t.fingerprint]));
}
