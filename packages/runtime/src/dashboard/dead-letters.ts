// Dead letters this worker committed: a count per connector and reason, and the latest few with their
// reason and error. The payloads stay in the dead-letter topic: they are source data and may hold
// anything, so the dashboard never shows them.
import type { DeadLetterSeen } from '../task-runner.ts';
import { createRing } from './ring.ts';

export interface DeadLetterEntry extends DeadLetterSeen {
  connector: string;
  task: number;
}

export interface DeadLetterCount {
  connector: string;
  total: number;
  byReason: Record<string, number>;
}

export interface DeadLetterLog {
  add(connector: string, task: number, seen: readonly DeadLetterSeen[]): void;
  counts(): DeadLetterCount[];
  /** Newest first. */
  recent(): DeadLetterEntry[];
}

/** Long source errors (a stack, a whole response) are cut: the page shows a line, Kafka has the rest. */
export const MAX_ERROR_CHARS = 300;

export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

export function createDeadLetterLog(keep: number): DeadLetterLog {
  const counts = new Map<string, Map<string, number>>();
  const ring = createRing<DeadLetterEntry>(keep);
  return {
    add(connector, task, seen) {
      if (seen.length === 0) return;
      let byReason = counts.get(connector);
      if (!byReason) counts.set(connector, (byReason = new Map()));
      for (const d of seen) {
        byReason.set(d.reason, (byReason.get(d.reason) ?? 0) + 1);
        ring.push({
          connector,
          task,
          reason: clip(d.reason, 100),
          error: clip(d.error, MAX_ERROR_CHARS),
          sourceRef: clip(d.sourceRef, 200),
          at: d.at,
        });
      }
    },
    counts: () =>
      [...counts]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([connector, byReason]) => ({
          connector,
          total: [...byReason.values()].reduce((a, b) => a + b, 0),
          byReason: Object.fromEntries(byReason),
        })),
    recent: () => ring.items().reverse(),
  };
}
