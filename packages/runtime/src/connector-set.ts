// The configured connectors as a set of tasks, each with a fingerprint of its connector's settings: a
// reload compares fingerprints to start, stop or restart exactly the connectors that changed, and the
// group's assigner only hands a task to a worker whose config has the same fingerprint for it.
import { createHash } from 'node:crypto';
import type { ResolvedConnector } from './registry.ts';

export interface TaskDef {
  /** `<connector>/<taskId>` */
  key: string;
  connector: string;
  taskId: number;
  config: unknown;
  fingerprint: string;
  resolved: ResolvedConnector;
}

export interface ConnectorSet {
  connectors: Map<string, { resolved: ResolvedConnector; fingerprint: string; tasks: TaskDef[] }>;
  tasks: Map<string, TaskDef>;
}

export function taskKey(connector: string, taskId: number): string {
  return `${connector}/${taskId}`;
}

/** Hash of what the operator configured for the connector. Secret values serialise as `[redacted]`, so a
 * rotated secret alone does not count as a change (restart the connector to pick it up). */
export function fingerprint(c: ResolvedConnector): string {
  const { type, tasksMax, batch } = c.connector;
  const json = JSON.stringify({ type, tasksMax, batch, config: c.config }, (_k, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : v,
  );
  return createHash('sha256').update(json).digest('hex').slice(0, 16);
}

export function buildConnectorSet(resolved: readonly ResolvedConnector[]): ConnectorSet {
  const set: ConnectorSet = { connectors: new Map(), tasks: new Map() };
  for (const c of resolved) {
    const fp = fingerprint(c);
    const specs = c.source.tasks
      ? c.source.tasks(c.config, c.connector.tasksMax)
      : [{ taskId: 0, config: c.config }];
    const tasks = specs.map((s) => ({
      key: taskKey(c.connector.name, s.taskId),
      connector: c.connector.name,
      taskId: s.taskId,
      config: s.config,
      fingerprint: fp,
      resolved: c,
    }));
    set.connectors.set(c.connector.name, { resolved: c, fingerprint: fp, tasks });
    for (const t of tasks) set.tasks.set(t.key, t);
  }
  return set;
}

export interface ConnectorDiff {
  added: string[];
  removed: string[];
  changed: string[];
  unchanged: string[];
}

export function diffConnectorSets(before: ConnectorSet, after: ConnectorSet): ConnectorDiff {
  const diff: ConnectorDiff = { added: [], removed: [], changed: [], unchanged: [] };
  for (const [name, c] of after.connectors) {
    const old = before.connectors.get(name);
    if (!old) diff.added.push(name);
    else if (old.fingerprint !== c.fingerprint) diff.changed.push(name);
    else diff.unchanged.push(name);
  }
  for (const name of before.connectors.keys()) if (!after.connectors.has(name)) diff.removed.push(name);
  return diff;
}
