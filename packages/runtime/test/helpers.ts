import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { TopicMessage } from '@tributary/testkit';

/** A JSON worker config for the synthetic source, isolated by a unique topic prefix and txn-id prefix. */
export function syntheticConfig(o: {
  brokers: string[];
  partitions?: number;
  total?: number;
  ratePerSec?: number;
  recordBytes?: number;
  poison?: number[];
  maxRecords?: number;
  maxMs?: number;
  transactionTimeoutMs?: number;
}) {
  const id = randomUUID().slice(0, 8);
  return {
    id,
    prefix: `t${id}.`,
    connector: `syn-${id}`,
    config: {
      kafka: {
        brokers: o.brokers,
        transactionalIdPrefix: `t${id}`,
        transactionTimeoutMs: o.transactionTimeoutMs ?? 30_000,
      },
      topics: { prefix: `t${id}.`, offsetsTopic: `t${id}.offsets`, partitions: 3 },
      worker: { http: false },
      connectors: [
        {
          name: `syn-${id}`,
          type: 'synthetic',
          batch: { maxRecords: o.maxRecords ?? 200, maxMs: o.maxMs ?? 200 },
          config: {
            partitions: o.partitions ?? 2,
            ratePerSec: o.ratePerSec ?? 0,
            recordBytes: o.recordBytes ?? 100,
            batchSize: 50,
            ...(o.total !== undefined ? { total: o.total } : {}),
            ...(o.poison ? { poison: o.poison } : {}),
          },
        },
      ],
    },
  };
}

/** Every synthetic partition holds seq 0..total-1 exactly once and in order (minus poison seqs). */
export function expectExactSequence(
  messages: TopicMessage[],
  connector: string,
  partitions: number,
  total: number,
  skip: number[] = [],
) {
  const byKey = new Map<string, { seq: number; kafkaPartition: number }[]>();
  for (const m of messages) {
    const v = JSON.parse(m.value!) as { seq: number; connector: string; partition: string };
    expect(v.connector).toBe(connector);
    const list = byKey.get(m.key!) ?? [];
    list.push({ seq: v.seq, kafkaPartition: m.partition });
    byKey.set(m.key!, list);
  }
  expect([...byKey.keys()].sort()).toEqual(
    Array.from({ length: partitions }, (_, p) => `${connector}:${p}`).sort(),
  );
  const expected = Array.from({ length: total }, (_, i) => i).filter((i) => !skip.includes(i));
  for (const [key, list] of byKey) {
    // One key lives in one Kafka partition, so offset order is the order consumers see.
    expect(new Set(list.map((x) => x.kafkaPartition)).size, key).toBe(1);
    const seqs = list.map((x) => x.seq);
    if (seqs.length !== expected.length || seqs.some((s, i) => s !== expected[i])) {
      const dupes = seqs.length - new Set(seqs).size;
      const missing = expected.filter((s) => !seqs.includes(s)).length;
      throw new Error(
        `${key}: ${seqs.length} records, expected ${expected.length} (duplicates ${dupes}, missing ${missing})`,
      );
    }
  }
}
