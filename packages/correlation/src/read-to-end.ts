// Reads topics (read_committed) from the beginning up to each partition's last stable offset as of the
// call, then stops. Used for the changelog restore and the backtest.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';

export interface RawMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  timestamp: string;
}

/** `partitions`: read only these partitions of the topics (a task's changelog partition); the others are
 * paused when their first batch arrives, and skipped. */
export async function readToEnd(
  kafka: Kafka,
  topics: string[],
  onMessage: (m: RawMessage) => void,
  signal: AbortSignal,
  partitions?: number[],
): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, number>();
  try {
    for (const topic of topics) {
      for (const p of await admin.fetchTopicOffsets(topic))
        if (Number(p.high) > Number(p.low) && (!partitions || partitions.includes(p.partition)))
          ends.set(`${topic}/${p.partition}`, Number(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  if (ends.size === 0) return 0;
  let n = 0;
  const consumer = kafka.consumer({
    groupId: `correlation-reader-${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 100,
    maxBytes: 16 * 1024 * 1024,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({
      topics: [...new Set([...ends.keys()].map((k) => k.slice(0, k.lastIndexOf('/'))))],
      fromBeginning: true,
    });
    const reached = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      const check = (topic: string, partition: number, last: string | number) => {
        const k = `${topic}/${partition}`;
        const end = ends.get(k);
        if (end !== undefined && Number(last) >= end - 1) reached.add(k);
        if (reached.size === ends.size) {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }
      };
      // Batches of only transaction markers carry no messages; this event still reports progress.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
        check(payload.topic, payload.partition, payload.lastOffset),
      );
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = ends.get(`${batch.topic}/${batch.partition}`);
            if (end === undefined) {
              if (partitions && !partitions.includes(batch.partition))
                consumer.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
              return;
            }
            for (const m of batch.messages) {
              if (Number(m.offset) >= end) continue;
              onMessage({
                topic: batch.topic,
                partition: batch.partition,
                offset: m.offset,
                key: m.key,
                value: m.value,
                timestamp: m.timestamp,
              });
              n++;
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect().catch(() => {});
  }
  return n;
}
