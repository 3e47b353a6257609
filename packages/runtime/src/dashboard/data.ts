// What GET /dashboard/data answers: plain data, built from what this worker knows. Nothing from the
// config goes in (no brokers, no source settings, no secrets): names, states, counts and alerts only.
import type { Metrics } from '../metrics.ts';
import type { Control, TaskApiState } from '../operator.ts';
import type { AlertsState } from './alerts.ts';
import type { DeadLetterCount, DeadLetterEntry } from './dead-letters.ts';
import { clip, MAX_ERROR_CHARS } from './dead-letters.ts';
import type { ThroughputSeries } from './throughput.ts';

export interface TaskRow {
  id: number;
  state: TaskApiState;
  /** The worker that runs it (in a group: from the group's shared state), or null when unassigned. */
  worker: string | null;
  /** Runs on this worker: only then are records and restarts known here. */
  here: boolean;
  records: number | null;
  restarts: number | null;
  lastError: string | null;
}

export interface ConnectorRow {
  name: string;
  type: string;
  target: 'RUNNING' | 'PAUSED';
  /** Records committed by this worker's tasks of the connector since the worker started. */
  records: number;
  /** Records per second over the latest sample interval. */
  perSec: number | null;
  /** As the source last reported it on this worker, in the source's own unit (blocks, trades...). */
  lag: { partition: string; value: number }[];
  deadLetters: number;
  tasks: TaskRow[];
}

export interface DashboardData {
  worker: {
    id: string;
    mode: 'standalone' | 'distributed';
    startedAt: string;
    now: string;
    sampleMs: number;
    windowMs: number;
  };
  connectors: ConnectorRow[];
  throughput: ThroughputSeries[];
  deadLetters: { counts: DeadLetterCount[]; recent: DeadLetterEntry[] };
  /** null: no `worker.dashboard.alertsTopic` configured. */
  alerts: AlertsState | null;
}

export interface SnapshotInputs {
  control: Control;
  metrics: Metrics;
  startedAt: number;
  now: number;
  sampleMs: number;
  windowMs: number;
  totals: ReadonlyMap<string, number>;
  throughput: ThroughputSeries[];
  deadLetters: { counts: DeadLetterCount[]; recent: DeadLetterEntry[] };
  alerts: AlertsState | null;
}

/** Lag per connector from the runtime's `tributary_source_lag` gauge. */
async function lagByConnector(
  metrics: Metrics,
): Promise<Map<string, { partition: string; value: number }[]>> {
  const out = new Map<string, { partition: string; value: number }[]>();
  for (const v of (await metrics.lag.get()).values) {
    const connector = String(v.labels.connector ?? '');
    const list = out.get(connector) ?? [];
    list.push({ partition: String(v.labels.partition ?? ''), value: v.value });
    out.set(connector, list);
  }
  for (const list of out.values()) list.sort((a, b) => a.partition.localeCompare(b.partition));
  return out;
}

export async function buildSnapshot(i: SnapshotInputs): Promise<DashboardData> {
  const { control } = i;
  const local = new Map(control.localStatus().map((t) => [`${t.connector}/${t.taskId}`, t]));
  const lag = await lagByConnector(i.metrics);
  const dead = new Map(i.deadLetters.counts.map((c) => [c.connector, c.total]));
  const latest = new Map(i.throughput.map((s) => [s.connector, s.points.at(-1)?.[1] ?? null]));
  const connectors = control.list().map((name): ConnectorRow => {
    const view = control.status(name);
    return {
      name,
      type: view.type,
      target: view.connector.state,
      records: i.totals.get(name) ?? 0,
      perSec: latest.get(name) ?? null,
      lag: lag.get(name) ?? [],
      deadLetters: dead.get(name) ?? 0,
      tasks: view.tasks.map((t): TaskRow => {
        const mine = local.get(`${name}/${t.id}`);
        const here = mine !== undefined && t.worker_id === control.workerId;
        const error = t.trace ?? (here ? mine.lastError : null);
        return {
          id: t.id,
          state: t.state,
          worker: t.worker_id,
          here,
          records: here ? mine.records : null,
          restarts: here ? mine.restarts : null,
          lastError: error ? clip(error, MAX_ERROR_CHARS) : null,
        };
      }),
    };
  });
  return {
    worker: {
      id: control.workerId,
      mode: control.mode,
      startedAt: new Date(i.startedAt).toISOString(),
      now: new Date(i.now).toISOString(),
      sampleMs: i.sampleMs,
      windowMs: i.windowMs,
    },
    connectors,
    throughput: i.throughput,
    deadLetters: i.deadLetters,
    alerts: i.alerts,
  };
}
