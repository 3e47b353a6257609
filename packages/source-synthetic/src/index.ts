// Deterministic numbered records at a configurable rate and size, resumable from its offset: the source
// for crash tests, benchmarks and the first runnable default.
import { z } from 'zod';
import {
  deadLetter,
  defineSource,
  sleep,
  type SourceBatch,
  type SourceRecord,
  type TaskSpec,
} from '@tributary/sdk';
import { TOPICS, recordHeaders } from '@tributary/schemas';

export const configSchema = z.object({
  /** Source partitions (independent sequences); spread over tasks. */
  partitions: z.number().int().positive().max(10_000).default(1),
  /** Records per second per partition; 0 = as fast as Kafka takes them. */
  ratePerSec: z.number().nonnegative().default(100),
  /** Approximate size of each record's value in bytes. */
  recordBytes: z.number().int().min(64).max(1_000_000).default(200),
  /** Records per yielded batch. */
  batchSize: z.number().int().positive().max(100_000).default(100),
  /** Stop after this many records per partition (unbounded when absent). */
  total: z.number().int().nonnegative().optional(),
  /** Logical topic to write. */
  topic: z.string().default(TOPICS.syntheticRecords.name),
  /** Records with these sequence numbers are emitted as malformed and dead-lettered (for tests). */
  poison: z.array(z.number().int().nonnegative()).default([]),
});

export type SyntheticConfig = z.output<typeof configSchema>;
export type SyntheticTaskConfig = SyntheticConfig & { ownPartitions: number[] };
export type SyntheticOffset = { next: number };

/** Typed helper for connectors.config.ts. */
export function synthetic(
  name: string,
  config: z.input<typeof configSchema>,
  batch?: { maxRecords?: number; maxMs?: number },
) {
  return { name, type: 'synthetic', config, ...(batch ? { batch } : {}) };
}

/** The value of record `seq`: deterministic, so tests can check every byte that comes out. */
export function syntheticValue(connector: string, partition: string, seq: number, recordBytes: number) {
  const head = { connector, partition, seq, payload: '' };
  const pad = Math.max(0, recordBytes - JSON.stringify(head).length);
  return { ...head, payload: 'x'.repeat(pad) };
}

export const source = defineSource<SyntheticConfig, SyntheticTaskConfig, SyntheticOffset>({
  type: 'synthetic',
  description: 'Deterministic numbered records (tests, benchmarks, demo)',
  configSchema: configSchema as z.ZodType<SyntheticConfig>,
  topics: (c) => [c.topic],
  tasks(config, tasksMax): TaskSpec<SyntheticTaskConfig>[] {
    const n = Math.min(tasksMax, config.partitions);
    return Array.from({ length: n }, (_, taskId) => ({
      taskId,
      config: {
        ...config,
        ownPartitions: Array.from({ length: config.partitions }, (_, p) => p).filter((p) => p % n === taskId),
      },
    }));
  },
  async *run(ctx): AsyncGenerator<SourceBatch<SyntheticOffset>> {
    const c = ctx.config;
    const poison = new Set(c.poison);
    const next = new Map(c.ownPartitions.map((p) => [String(p), ctx.offsets.get(String(p))?.next ?? 0]));
    const started = Date.now();
    const startSeq = new Map(next);
    const headers = recordHeaders('synthetic.record');
    while (!ctx.signal.aborted) {
      let progressed = false;
      for (const [partition, seq] of next) {
        const end = c.total === undefined ? Infinity : c.total;
        if (seq >= end) continue;
        let count = Math.min(c.batchSize, end - seq);
        if (c.ratePerSec > 0) {
          // Pace by elapsed time: records due so far minus records already produced in this run.
          const due =
            Math.floor(((Date.now() - started) / 1000) * c.ratePerSec) - (seq - startSeq.get(partition)!);
          count = Math.min(count, due);
          if (count <= 0) continue;
        }
        const records: SourceRecord[] = [];
        for (let s = seq; s < seq + count; s++) {
          if (poison.has(s)) {
            // A truncated payload, as a broken upstream would send it.
            records.push(
              deadLetter({
                connector: ctx.connector,
                reason: 'synthetic-poison',
                error: `record ${s} is marked poison`,
                sourceRef: `${partition}:${s}`,
                payload: `{"seq":${s},`,
              }),
            );
            ctx.metrics.skipped('synthetic-poison');
            continue;
          }
          records.push({
            topic: c.topic,
            key: `${ctx.connector}:${partition}`,
            value: syntheticValue(ctx.connector, partition, s, c.recordBytes),
            headers,
            timestamp: Date.now(),
          });
        }
        next.set(partition, seq + count);
        progressed = true;
        yield { partition, records, offset: { next: seq + count } };
      }
      if (!progressed) {
        const allDone = c.total !== undefined && [...next.values()].every((s) => s >= c.total!);
        if (allDone) return;
        await sleep(c.ratePerSec > 0 ? Math.max(5, Math.min(100, 1000 / c.ratePerSec)) : 5, ctx.signal).catch(
          () => {},
        );
      }
    }
  },
});
