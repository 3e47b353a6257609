// An independent read_committed reader for assertions: deliberately not the runtime's code, so tests
// don't verify the runtime with itself.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

export interface TopicMessage {
  partition: number;
  offset: number;
  key: string | null;
  value: string | null;
  headers: Record<string, string>;
  timestamp: number;
}

/** All committed records of `topic`, per partition in offset order. Ends at each partition's last stable
 * offset as of the call, so call it once no transaction of interest is open (worker stopped). */
export async function readTopic(
  brokers: string[],
  topic: string,
  opts: { timeoutMs?: number } = {},
): Promise<TopicMessage[]> {
  const kafka = new Kafka({ brokers, clientId: 'testkit-reader', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  try {
    // fetchTopicOffsets lists with READ_COMMITTED: `high` is the last stable offset.
    for (const p of await admin.fetchTopicOffsets(topic)) {
      if (Number(p.high) > Number(p.low)) ends.set(p.partition, Number(p.high));
    }
  } finally {
    await admin.disconnect();
  }
  const out: TopicMessage[] = [];
  if (ends.size === 0) return out;
  const consumer = kafka.consumer({ groupId: `testkit-${randomUUID()}`, maxWaitTimeInMs: 100 });
  const reached = new Set<number>();
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `readTopic(${topic}) timed out; reached ${[...reached].join(',')} of ${[...ends.keys()].join(',')}`,
            ),
          ),
        opts.timeoutMs ?? 60_000,
      );
      const check = (partition: number, lastOffset: string | number) => {
        const end = ends.get(partition);
        if (end !== undefined && Number(lastOffset) >= end - 1) reached.add(partition);
        if (reached.size === ends.size) {
          clearTimeout(timer);
          resolve();
        }
      };
      // Batches of only control records (commit/abort markers) carry no messages; this event still
      // reports how far the consumer got.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
        check(payload.partition, payload.lastOffset),
      );
      consumer
        .run({
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) {
              if (Number(m.offset) >= (ends.get(batch.partition) ?? 0)) continue;
              const headers: Record<string, string> = {};
              for (const [k, v] of Object.entries(m.headers ?? {}))
                if (v !== undefined) headers[k] = String(v);
              out.push({
                partition: batch.partition,
                offset: Number(m.offset),
                key: m.key?.toString('utf8') ?? null,
                value: m.value?.toString('utf8') ?? null,
                headers,
                timestamp: Number(m.timestamp),
              });
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
}

/** Creates topics (ignores ones that exist). */
export async function createTopics(
  brokers: string[],
  topics: { topic: string; numPartitions?: number; compact?: boolean }[],
): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'testkit-admin', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: topics.map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions ?? 1,
        replicationFactor: 1,
        ...(t.compact ? { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] } : {}),
      })),
    });
  } finally {
    await admin.disconnect();
  }
}

/** Deletes every topic whose name starts with `prefix` (benchmarks clean up after a run on a shared cluster). */
export async function deleteTopics(brokers: string[], prefix: string): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'testkit-admin', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
    if (topics.length) await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}
