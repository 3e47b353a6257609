import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { source, syntheticValue } from '../src/index.ts';

const ctx = (config: unknown, offsets = new Map<string, { next: number }>()) => ({
  connector: 'c',
  taskId: 0,
  config: source.tasks!(source.configSchema.parse(config), 1)[0]!.config,
  offsets,
  signal: new AbortController().signal,
  logger: pino({ level: 'silent' }),
  metrics: { lag: () => {}, skipped: () => {} },
});

describe('synthetic source', () => {
  it('produces 0..total-1 per partition, resuming from the offset', async () => {
    const seqs: number[] = [];
    for await (const b of source.run(
      ctx({ partitions: 1, ratePerSec: 0, batchSize: 7, total: 30 }, new Map([['0', { next: 10 }]])),
    )) {
      for (const r of b.records) seqs.push((r.value as { seq: number }).seq);
      expect(b.offset.next).toBe(seqs.at(-1)! + 1);
    }
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 10));
  });

  it('sizes values to recordBytes and spreads partitions over tasks', () => {
    expect(JSON.stringify(syntheticValue('c', '0', 5, 1024)).length).toBe(1024);
    const tasks = source.tasks!(source.configSchema.parse({ partitions: 5 }), 2);
    expect(tasks.map((t) => t.config.ownPartitions)).toEqual([
      [0, 2, 4],
      [1, 3],
    ]);
  });

  it('paces to ratePerSec', async () => {
    const started = Date.now();
    let n = 0;
    for await (const b of source.run(ctx({ partitions: 1, ratePerSec: 200, batchSize: 50, total: 100 })))
      n += b.records.length;
    expect(n).toBe(100);
    // 100 records at 200/s cannot be done in much less than half a second.
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });
});
