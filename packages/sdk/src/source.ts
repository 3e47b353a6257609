import type { Logger } from 'pino';
import type { z } from 'zod';
import type { JsonValue } from './json.ts';

/** One record for Kafka. `topic` is a logical topic name from `@tributary/schemas` (the runtime maps it to
 * the physical name configured by the operator). `value` is JSON (serialized by the runtime) or bytes;
 * `null` is a tombstone. `timestamp` is event time in ms since the epoch. */
export interface SourceRecord {
  topic: string;
  key: string | null;
  value: JsonValue | Uint8Array | null;
  headers?: Record<string, string>;
  timestamp: number;
}

/** What a task yields: records of one source partition and the source position *after* them.
 * The runtime writes the records and the offset in one Kafka transaction, so the offset is committed
 * exactly when the records are. */
export interface SourceBatch<Offset extends JsonValue = JsonValue> {
  partition: string;
  records: readonly SourceRecord[];
  offset: Offset;
}

/** Counters and gauges a source may report; the runtime exports them on /metrics. */
export interface SourceMetrics {
  /** How far behind the source's head this partition is, in the source's own unit (blocks, trades...). */
  lag(partition: string, value: number): void;
  /** Something was skipped (and dead-lettered); `reason` is a short stable label. */
  skipped(reason: string): void;
}

export interface TaskContext<Config, Offset extends JsonValue = JsonValue> {
  connector: string;
  taskId: number;
  /** The task's own configuration (from `SourceDefinition.tasks`). */
  config: Config;
  /** The last committed offset per source partition of this connector; empty on first start. */
  offsets: ReadonlyMap<string, Offset>;
  signal: AbortSignal;
  logger: Logger;
  metrics: SourceMetrics;
  /** Registers a listener called after each Kafka transaction of this task commits, with the offsets it
   * committed; returns the unsubscribe function. For sources that must acknowledge upstream only once an
   * event is durable (a webhook answering 2xx). Absent when the task runs outside a worker (tests). */
  onCommitted?(listener: (offsets: ReadonlyMap<string, Offset>) => void): () => void;
}

/** A running task: an async iterable of batches. It ends when the signal aborts (or the source is
 * finite). Throw `RetryableError` for faults worth a restart from the committed offset, `FatalError`
 * for faults that must stop the task. */
export type SourceTask<Offset extends JsonValue = JsonValue> = AsyncIterable<SourceBatch<Offset>>;

export interface TaskSpec<TaskConfig> {
  /** A stable id for the task within its connector (used in the transactional id). */
  taskId: number;
  config: TaskConfig;
}

export interface SourceDefinition<
  Config = unknown,
  TaskConfig = Config,
  Offset extends JsonValue = JsonValue,
> {
  /** The `type` operators write in connectors.config.ts. */
  type: string;
  description: string;
  /** Validates the connector's `config` block; errors name the field path. */
  configSchema: z.ZodType<Config>;
  /** Splits a connector into tasks; one task when omitted. */
  tasks?(config: Config, tasksMax: number): TaskSpec<TaskConfig>[];
  /** Logical topics this source writes (so the runtime can create them up front). */
  topics(config: Config): string[];
  run(ctx: TaskContext<TaskConfig, Offset>): SourceTask<Offset>;
}

/** Identity helper that keeps the generic types tied together for source authors. */
export function defineSource<Config, TaskConfig = Config, Offset extends JsonValue = JsonValue>(
  def: SourceDefinition<Config, TaskConfig, Offset>,
): SourceDefinition<Config, TaskConfig, Offset> {
  return def;
}
