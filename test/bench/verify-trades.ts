// The exactly-once check after a benchmark run, streamed so a million trades need no memory: reads the
// trades topic with read_committed (its own kafkajs consumer, not the runtime's code) and checks that each
// venue:symbol key holds trade ids 1, 2, 3, ... with nothing repeated or missing, up to the committed offset,
// and that every record fits the `exchange.trades` schema.
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { exchangeTrade } from '@tributary/schemas';

export interface TradeCheck {
  records: number;
  keys: Record<string, { count: number; lastId: number }>;
  duplicates: number;
  outOfOrder: number;
  missing: number;
  /** Records that do not fit the `exchange.trades` schema. */
  invalid: number;
  ms: number;
}

export async function verifyTrades(
  brokers: string[],
  topic: string,
  timeoutMs = 600_000,
): Promise<TradeCheck> {
  const started = performance.now();
  const kafka = new Kafka({ brokers, clientId: 'bench-verify', logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<number, number>();
  try {
    // With no isolation level given kafkajs lists offsets read_committed: `high` is the last stable offset.
    for (const p of await admin.fetchTopicOffsets(topic))
      if (Number(p.high) > Number(p.low)) ends.set(p.partition, Number(p.high));
  } finally {
    await admin.disconnect();
  }
  const check: TradeCheck = {
    records: 0,
    keys: {},
    duplicates: 0,
    outOfOrder: 0,
    missing: 0,
    invalid: 0,
    ms: 0,
  };
  if (ends.size > 0) {
    const consumer = kafka.consumer({
      groupId: `bench-verify-${randomUUID()}`,
      maxWaitTimeInMs: 100,
      maxBytesPerPartition: 16 * 1024 * 1024,
      maxBytes: 64 * 1024 * 1024,
      readUncommitted: false,
    });
    const reached = new Set<number>();
    await consumer.connect();
    try {
      await consumer.subscribe({ topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`verifying ${topic} timed out`)), timeoutMs);
        const progress = (partition: number, lastOffset: string) => {
          const end = ends.get(partition);
          if (end !== undefined && Number(lastOffset) >= end - 1) reached.add(partition);
          if (reached.size === ends.size) {
            clearTimeout(timer);
            resolve();
          }
        };
        // Batches holding only transaction markers carry no messages; this event still says how far we got.
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
          progress(payload.partition, payload.lastOffset),
        );
        consumer
          .run({
            eachBatch: async ({ batch }) => {
              const end = ends.get(batch.partition) ?? 0;
              for (const m of batch.messages) {
                if (Number(m.offset) >= end) continue;
                const key = m.key?.toString('utf8') ?? '';
                const parsed = exchangeTrade.safeParse(JSON.parse(m.value!.toString('utf8')));
                if (!parsed.success) {
                  check.invalid++;
                  continue;
                }
                const id = Number(parsed.data.tradeId);
                const k = (check.keys[key] ??= { count: 0, lastId: 0 });
                check.records++;
                k.count++;
                if (id === k.lastId + 1) k.lastId = id;
                else if (id <= k.lastId) check.duplicates++;
                else {
                  check.missing += id - k.lastId - 1;
                  check.outOfOrder++;
                  k.lastId = id;
                }
              }
            },
          })
          .catch(reject);
      });
    } finally {
      await consumer.disconnect();
    }
  }
  check.ms = performance.now() - started;
  return check;
}
