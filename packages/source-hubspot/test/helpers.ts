// In-process harness: runs the source's tasks against a simulator without a worker and collects what they
// yield (records by key, offsets, dead letters), until a condition holds.
import { pino } from 'pino';
import type { JsonValue, SourceBatch } from '@tributary/sdk';
import type { HubSpotSimulator } from '@tributary/testkit';
import { source } from '../src/index.ts';
import type { TaskConfig } from '../src/config.ts';

export const silent = pino({ level: process.env.TEST_LOG ?? 'silent' });

export interface Change {
  objectType: string;
  recordId: string;
  changeType: string;
  changedFields: string[];
  values: Record<string, string | null>;
  previous?: Record<string, string | null>;
  nulledFields?: string[];
  actor: string | null;
  commitTimestamp: string;
  sourcePosition: string;
  header: Record<string, unknown>;
}

export interface Collected {
  changes: Change[];
  deadLetters: { reason: string; sourceRef: string; payload: string }[];
  offsets: Map<string, JsonValue>;
  batches: number;
  skipped: Record<string, number>;
}

/** A config for the simulator with fast polling; `extra` overrides. */
export function simConfig(sim: HubSpotSimulator, extra: Record<string, unknown> = {}) {
  return {
    baseUrl: sim.url,
    auth: { kind: 'private-app', accessToken: 'pat-sim' },
    objects: [{ type: 'contacts', properties: ['email', 'firstname'] }],
    pollIntervalMs: 50,
    // A few ms: a write stamped in the same millisecond as a poll's fence must not fall behind the cursor.
    settleMs: 20,
    lookbackMs: 0,
    rateLimits: { searchPerSecond: 1000, requestsPerTenSeconds: 100_000 },
    archived: { enabled: true, intervalMs: 100 },
    ...extra,
  };
}

/** Runs the first task (or `taskIndex`) until `done(collected)` holds or `timeoutMs` passes. */
export async function collect(
  config: unknown,
  done: (c: Collected) => boolean,
  o: {
    offsets?: Map<string, JsonValue>;
    timeoutMs?: number;
    taskIndex?: number;
    tasksMax?: number;
    /** Called after every batch (tests mutate the simulator as the source catches up). */
    onBatch?: (c: Collected) => void;
  } = {},
): Promise<Collected> {
  const parsed = source.configSchema.parse(config);
  const spec = source.tasks!(parsed, o.tasksMax ?? 1)[o.taskIndex ?? 0]!;
  const ac = new AbortController();
  const out: Collected = {
    changes: [],
    deadLetters: [],
    offsets: new Map(o.offsets),
    batches: 0,
    skipped: {},
  };
  const it = source
    .run({
      connector: 'test',
      taskId: spec.taskId,
      config: spec.config as TaskConfig,
      offsets: new Map(o.offsets),
      signal: ac.signal,
      logger: silent,
      metrics: { lag: () => {}, skipped: (r) => (out.skipped[r] = (out.skipped[r] ?? 0) + 1) },
    })
    [Symbol.asyncIterator]();
  const timeout = setTimeout(() => ac.abort(new Error('collect timed out')), o.timeoutMs ?? 60_000);
  const TICK = Symbol('tick');
  let pending = it.next() as Promise<IteratorResult<SourceBatch>>;
  try {
    // The condition is checked after each batch and every 100 ms (a caught-up source yields nothing).
    while (!done(out)) {
      const r = await Promise.race([
        pending,
        new Promise<typeof TICK>((res) => setTimeout(() => res(TICK), 100)),
      ]);
      if (r === TICK) {
        if (ac.signal.aborted) break;
        continue;
      }
      if (r.done) break;
      pending = it.next() as Promise<IteratorResult<SourceBatch>>;
      out.batches++;
      out.offsets.set(r.value.partition, r.value.offset);
      for (const rec of r.value.records) {
        if (rec.topic === 'crm.changes') out.changes.push(rec.value as unknown as Change);
        else out.deadLetters.push(rec.value as unknown as Collected['deadLetters'][number]);
      }
      o.onBatch?.(out);
    }
    if (ac.signal.aborted && !done(out))
      throw new Error(
        `collect timed out with ${out.changes.length} changes, ${out.deadLetters.length} dead letters`,
      );
  } catch (err) {
    if (!ac.signal.aborted) throw err;
    throw new Error(
      `collect timed out with ${out.changes.length} changes, ${out.deadLetters.length} dead letters`,
      { cause: err },
    );
  } finally {
    clearTimeout(timeout);
    ac.abort();
    await pending.catch(() => undefined);
    await it.return?.(undefined);
  }
  return out;
}

/** `id@ts` of a change (ts from its last-modified time): one observed version. */
export const versionKey = (c: Change) => `${c.recordId}@${Date.parse(c.commitTimestamp)}`;
