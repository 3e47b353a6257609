import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import {
  logLines,
  spawnWorker,
  workerUrl,
  writeConfig,
  type TopicMessage,
  type WorkerProcess,
} from '@tributary/testkit';
import type { ConnectorView } from '../src/operator.ts';

export interface SyntheticConnector {
  name: string;
  tasks: number;
  ratePerSec: number;
  total?: number;
  partitions?: number;
}

/** A group config: unique group, topics and transactional ids; HTTP on a free port. */
export function groupConfig(o: {
  brokers: string[];
  connectors: SyntheticConnector[];
  sessionTimeoutMs?: number;
  unhealthyAfterMs?: number;
}) {
  const id = randomUUID().slice(0, 8);
  const config = {
    kafka: { brokers: o.brokers, transactionalIdPrefix: `g${id}`, transactionTimeoutMs: 30_000 },
    topics: { prefix: `g${id}.`, offsetsTopic: `g${id}.offsets`, partitions: 3 },
    worker: {
      http: { host: '127.0.0.1', port: 0 },
      ...(o.unhealthyAfterMs ? { unhealthyAfterMs: o.unhealthyAfterMs } : {}),
      group: {
        id: `g${id}`,
        // The broker's minimum (group.min.session.timeout.ms): the shortest move bound there is.
        sessionTimeoutMs: o.sessionTimeoutMs ?? 6_000,
        heartbeatIntervalMs: 500,
        rebalanceTimeoutMs: 10_000,
      },
    },
    connectors: o.connectors.map((c) => syntheticConnector(c)),
  };
  return { id, prefix: `g${id}.`, config, file: writeConfig(config) };
}

export function syntheticConnector(c: SyntheticConnector) {
  return {
    name: c.name,
    type: 'synthetic',
    tasksMax: c.tasks,
    batch: { maxRecords: 200, maxMs: 200 },
    config: {
      partitions: c.partitions ?? c.tasks,
      ratePerSec: c.ratePerSec,
      recordBytes: 100,
      batchSize: 50,
      ...(c.total !== undefined ? { total: c.total } : {}),
    },
  };
}

export function rewriteConfig(file: string, config: unknown): void {
  writeFileSync(file, JSON.stringify(config, null, 2));
}

export interface RunningWorker {
  id: string;
  w: WorkerProcess;
  url: string;
}

export async function startGroupWorker(file: string, id: string): Promise<RunningWorker> {
  const w = spawnWorker(file, { env: { TRIBUTARY_WORKER_ID: id } });
  return { id, w, url: await workerUrl(w) };
}

export async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export async function call(method: string, url: string, body?: unknown) {
  const res = await fetch(url, {
    method,
    ...(body === undefined
      ? {}
      : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as Record<string, unknown> | null };
}

/** Every task of every connector as the group reports it: `connector/task` -> { state, worker }. */
export async function groupView(url: string): Promise<Map<string, { state: string; worker: string | null }>> {
  const all = await getJson<Record<string, { status: ConnectorView }>>(`${url}/connectors?expand=status`);
  const out = new Map<string, { state: string; worker: string | null }>();
  for (const { status } of Object.values(all))
    for (const t of status.tasks) out.set(`${status.name}/${t.id}`, { state: t.state, worker: t.worker_id });
  return out;
}

export function tasksPerWorker(view: Map<string, { worker: string | null }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { worker } of view.values()) if (worker) out[worker] = (out[worker] ?? 0) + 1;
  return out;
}

/** Polls `check` until it returns a value (not undefined/false) or the time is up. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** How often each task started on these workers (log lines "task started from committed offsets"). */
export function startCounts(workers: readonly { w: WorkerProcess }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const { w } of workers)
    for (const l of logLines(w))
      if (l.msg === 'task started from committed offsets') {
        const k = `${String(l.connector)}/${String(l.task)}`;
        out.set(k, (out.get(k) ?? 0) + 1);
      }
  return out;
}

export function ofConnector(messages: TopicMessage[], connector: string): TopicMessage[] {
  return messages.filter((m) => (JSON.parse(m.value!) as { connector: string }).connector === connector);
}

/** On a failure, what each worker said (info and up), to see why. */
export function dumpWorkers(workers: readonly RunningWorker[], lines = 60): string {
  return workers
    .map(
      (x) =>
        `--- ${x.id}\n${logLines(x.w)
          .filter((l) => Number(l.level) >= 30)
          .slice(-lines)
          .map((l) => JSON.stringify(l).slice(0, 300))
          .join('\n')}`,
    )
    .join('\n');
}

/** Runs `body`; if it throws, the error carries the workers' recent log lines. */
export async function withDump(workers: readonly RunningWorker[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    if (err instanceof Error) {
      err.message += `\n${dumpWorkers(workers)}`;
      for (const x of workers) {
        const views = await Promise.all(
          ['/connectors?expand=status', '/status', '/workers'].map((p) =>
            fetch(`${x.url}${p}`)
              .then((r) => r.text())
              .catch((e: unknown) => String(e)),
          ),
        );
        err.message += `\n=== ${x.id}\n${views.join('\n')}`;
      }
    }
    throw err;
  }
}
