// The operator API behind HTTP and the CLI, modelled on Kafka Connect's REST API: connectors and tasks
// with state and worker, pause/resume/restart, offsets (paused connectors only), config reload. Any worker
// answers for the whole group: requests become records in the shared state and the owners act on them.
import { randomUUID } from 'node:crypto';
import type { JsonValue, Logger } from '@tributary/sdk';
import { ConfigError, type TributaryConfig } from './config.ts';
import type { ConnectorDiff } from './connector-set.ts';
import { targetOf, type Engine } from './engine.ts';
import type { KafkaClient } from './kafka/client.ts';
import { readOffsets, writeOffsets, type OffsetChange } from './offsets-admin.ts';
import type { AssignmentRecord, StateStore, StatusRecord, TargetState } from './state-store.ts';
import type { TaskStatus } from './tasks.ts';

/** An answer other than 2xx: the HTTP status and a message naming what is wrong. */
export class OperatorError extends Error {
  override name = 'OperatorError';
  constructor(
    readonly status: 400 | 404 | 405 | 409 | 500,
    message: string,
    readonly issues?: string[],
  ) {
    super(message);
  }
}

export type TaskApiState =
  'UNASSIGNED' | 'STARTING' | 'RUNNING' | 'RESTARTING' | 'PAUSED' | 'FAILED' | 'FINISHED';

export interface TaskView {
  id: number;
  state: TaskApiState;
  worker_id: string | null;
  trace?: string;
}

export interface ConnectorView {
  name: string;
  type: string;
  connector: { state: TargetState };
  tasks: TaskView[];
}

export interface ReloadResult extends ConnectorDiff {
  /** Sections that differ from the running config but need a worker restart (kafka, topics, worker). */
  ignored: string[];
}

export interface WorkerView {
  mode: 'standalone' | 'distributed';
  worker: string;
  leader: string | null;
  workers: { id: string; tasks: string[] }[];
  at: string | null;
}

export interface Control {
  workerId: string;
  mode: 'standalone' | 'distributed';
  list(): string[];
  status(name: string): ConnectorView;
  /** Tasks of this worker (GET /status). */
  localStatus(): TaskStatus[];
  setTarget(name: string, taskId: number | undefined, state: TargetState): Promise<void>;
  restart(name: string, taskId?: number): Promise<void>;
  offsets(name: string): Promise<{ partition: string; offset: JsonValue }[]>;
  alterOffsets(name: string, changes: OffsetChange[]): Promise<string[]>;
  resetOffsets(name: string): Promise<string[]>;
  reload(): Promise<ReloadResult>;
  workers(): WorkerView;
}

const LOCAL_STATE: Record<TaskStatus['state'], TaskApiState> = {
  starting: 'STARTING',
  running: 'RUNNING',
  restarting: 'RESTARTING',
  paused: 'PAUSED',
  failed: 'FAILED',
  fenced: 'UNASSIGNED',
  stopped: 'UNASSIGNED',
  finished: 'FINISHED',
};

export function apiState(s: TaskStatus['state']): TaskApiState {
  return LOCAL_STATE[s];
}

export interface ControlDeps {
  mode: 'standalone' | 'distributed';
  workerId: string;
  config: TributaryConfig;
  engine: Engine;
  store: StateStore;
  kafka: KafkaClient;
  logger: Logger;
  /** Reloads the config file (standalone: here; group: every worker). Throws ConfigError. */
  reload: () => Promise<ReloadResult>;
}

export function createControl(deps: ControlDeps): Control {
  const { engine, store, workerId } = deps;
  // Offsets operations open transactional producers: one at a time per worker.
  let offsetsLock: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
    const p = offsetsLock.then(fn, fn);
    offsetsLock = p.catch(() => {});
    return p;
  };

  const connector = (name: string) => {
    const c = engine.connectors().connectors.get(name);
    if (!c) throw new OperatorError(404, `connector "${name}" not found`);
    return c;
  };
  const task = (name: string, taskId: number) => {
    const c = connector(name);
    const t = c.tasks.find((x) => x.taskId === taskId);
    if (!t) throw new OperatorError(404, `connector "${name}" has no task ${taskId}`);
    return t;
  };

  const taskView = (key: string, id: number): TaskView => {
    if (deps.mode === 'standalone') {
      const s = engine.status().find((t) => `${t.connector}/${t.taskId}` === key);
      if (!s) return { id, state: 'UNASSIGNED', worker_id: null };
      return {
        id,
        state: apiState(s.state),
        worker_id: workerId,
        ...(s.lastError ? { trace: s.lastError } : {}),
      };
    }
    // In a group: the leader's latest assignment says who owns the task; the owner's own status record
    // says how it is doing. A record from a previous owner does not count.
    const assignment = store.get('assignment') as AssignmentRecord | undefined;
    const owner = assignment?.tasks[key] ?? null;
    const rec = store.get(`status/${key}`) as StatusRecord | undefined;
    if (!owner) return { id, state: 'UNASSIGNED', worker_id: null };
    if (!rec || rec.worker !== owner) return { id, state: 'UNASSIGNED', worker_id: owner };
    return {
      id,
      state: (rec.state as TaskApiState) ?? 'UNASSIGNED',
      worker_id: owner,
      ...(rec.lastError ? { trace: rec.lastError } : {}),
    };
  };

  const status = (name: string): ConnectorView => {
    const c = connector(name);
    return {
      name,
      type: c.resolved.connector.type,
      connector: { state: targetOf(store, name) },
      tasks: c.tasks.map((t) => taskView(t.key, t.taskId)),
    };
  };

  const requirePaused = (name: string) => {
    const view = status(name);
    const busy = view.tasks.filter(
      (t) => t.state === 'RUNNING' || t.state === 'STARTING' || t.state === 'RESTARTING',
    );
    if (view.connector.state !== 'PAUSED' || busy.length > 0)
      throw new OperatorError(
        409,
        view.connector.state !== 'PAUSED'
          ? `connector "${name}" is running: pause it first (PUT /connectors/${name}/pause) and wait until its tasks are PAUSED`
          : `connector "${name}" is pausing: task(s) ${busy.map((t) => t.id).join(', ')} still ${busy[0]!.state}; try again when they are PAUSED`,
      );
  };

  const by = () => ({ at: new Date().toISOString(), by: workerId });

  return {
    workerId,
    mode: deps.mode,
    list: () => [...engine.connectors().connectors.keys()],
    status,
    localStatus: () => engine.status(),
    async setTarget(name, taskId, state) {
      const key = taskId === undefined ? connector(name).resolved.connector.name : task(name, taskId).key;
      await store.put(`target/${key}`, { state, ...by() });
    },
    async restart(name, taskId) {
      const key = taskId === undefined ? connector(name).resolved.connector.name : task(name, taskId).key;
      await store.put(`restart/${key}`, { id: randomUUID(), ...by() });
    },
    async offsets(name) {
      connector(name);
      const all = await exclusive(() =>
        readOffsets(deps.kafka, deps.config, `${deps.config.kafka.transactionalIdPrefix}-admin-${workerId}`),
      );
      return [...(all.get(name) ?? new Map())]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([partition, e]) => ({ partition, offset: e.offset }));
    },
    async alterOffsets(name, changes) {
      const c = connector(name);
      requirePaused(name);
      const written = await exclusive(() =>
        writeOffsets(
          deps.kafka,
          deps.config,
          name,
          c.tasks.map((t) => t.taskId),
          changes,
        ),
      );
      deps.logger.info({ connector: name, partitions: written }, 'offsets altered by operator');
      return written;
    },
    async resetOffsets(name) {
      const c = connector(name);
      requirePaused(name);
      const written = await exclusive(() =>
        writeOffsets(
          deps.kafka,
          deps.config,
          name,
          c.tasks.map((t) => t.taskId),
          'reset',
        ),
      );
      deps.logger.info({ connector: name, partitions: written }, 'offsets reset by operator');
      return written;
    },
    async reload() {
      try {
        return await deps.reload();
      } catch (err) {
        if (err instanceof ConfigError) throw new OperatorError(400, err.message, err.issues);
        throw err;
      }
    },
    workers() {
      if (deps.mode === 'standalone')
        return {
          mode: 'standalone',
          worker: workerId,
          leader: null,
          workers: [{ id: workerId, tasks: engine.owned() }],
          at: null,
        };
      const a = store.get('assignment') as AssignmentRecord | undefined;
      const tasks = new Map<string, string[]>((a?.workers ?? []).map((w) => [w, []]));
      for (const [k, w] of Object.entries(a?.tasks ?? {})) tasks.set(w, [...(tasks.get(w) ?? []), k]);
      return {
        mode: 'distributed',
        worker: workerId,
        leader: a?.leader ?? null,
        workers: [...tasks].map(([id, t]) => ({ id, tasks: t.sort() })),
        at: a?.at ?? null,
      };
    },
  };
}

/** Validates a PATCH /connectors/NAME/offsets body: `{ offsets: [{ partition, offset }] }`. */
export function parseOffsetChanges(body: unknown): OffsetChange[] {
  const list = (body as { offsets?: unknown } | null)?.offsets;
  if (!Array.isArray(list) || list.length === 0)
    throw new OperatorError(
      400,
      'body must be { "offsets": [{ "partition": "...", "offset": {...} | null }, ...] }',
    );
  return list.map((x: unknown, i) => {
    const o = x as { partition?: unknown; offset?: unknown } | null;
    if (!o || typeof o.partition !== 'string' || o.partition === '')
      throw new OperatorError(400, `offsets[${i}].partition: expected a non-empty string`);
    if (!('offset' in o) || o.offset === undefined)
      throw new OperatorError(400, `offsets[${i}].offset: expected a JSON value (null deletes the offset)`);
    return { partition: o.partition, offset: o.offset as JsonValue | null };
  });
}
