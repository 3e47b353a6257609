// Source offsets live in a compacted Kafka topic, written in the same transaction as the records they
// cover. Key: JSON [connector, sourcePartition] (as Kafka Connect does), value: JSON OffsetEntry.
import { randomUUID } from 'node:crypto';
import type { JsonValue } from '@tributary/sdk';
import type { KafkaClient, OutRecord, TransactionalSession } from './kafka/client.ts';

export interface OffsetEntry {
  offset: JsonValue;
  taskId: number;
  at: string;
}

const MARKER = '__tributary_marker__';

export function offsetKey(connector: string, partition: string): string {
  return JSON.stringify([connector, partition]);
}

export function offsetRecord(
  topic: string,
  connector: string,
  partition: string,
  offset: JsonValue,
  taskId: number,
): OutRecord {
  const entry: OffsetEntry = { offset, taskId, at: new Date().toISOString() };
  return {
    topic,
    key: offsetKey(connector, partition),
    value: Buffer.from(JSON.stringify(entry)),
    timestamp: Date.now(),
  };
}

/** A tombstone: compaction drops the key, and readers treat it as "no offset". */
export function offsetTombstone(topic: string, connector: string, partition: string): OutRecord {
  return { topic, key: offsetKey(connector, partition), value: null, timestamp: Date.now() };
}

export type OffsetsByConnector = Map<string, Map<string, OffsetEntry>>;

/**
 * Reads every committed offset. "To the end" under read_committed is subtle: the last stable offset stops
 * at the first open transaction, which may belong to another task, while our own later commits sit
 * behind it. So the (already fenced-in) session commits a marker to every partition, and we read until
 * each marker is seen: by then every transaction that was open when we started has been resolved.
 */
export async function readAllOffsets(
  kafka: KafkaClient,
  session: TransactionalSession,
  topic: string,
  signal?: AbortSignal,
): Promise<OffsetsByConnector> {
  const partitions = await kafka.partitionCount(topic);
  const marker = randomUUID();
  const markerKey = JSON.stringify([MARKER, session.transactionalId]);
  await session.sendAndCommit(
    Array.from({ length: partitions }, (_, partition) => ({
      topic,
      partition,
      key: markerKey,
      value: Buffer.from(JSON.stringify({ marker })),
      timestamp: Date.now(),
    })),
  );

  const out: OffsetsByConnector = new Map();
  const seen = new Set<number>();
  await kafka.readUntil(
    topic,
    (m) => {
      if (!m.key) return;
      const key = JSON.parse(m.key) as [string, string];
      if (key[0] === MARKER) {
        if (m.value && (JSON.parse(m.value.toString('utf8')) as { marker?: string }).marker === marker)
          seen.add(m.partition);
        return;
      }
      const [connector, partition] = key;
      let byPartition = out.get(connector);
      if (!byPartition) out.set(connector, (byPartition = new Map()));
      if (m.value === null) byPartition.delete(partition);
      else byPartition.set(partition, JSON.parse(m.value.toString('utf8')) as OffsetEntry);
    },
    () => seen.size === partitions,
    signal,
  );
  return out;
}

export async function readConnectorOffsets(
  kafka: KafkaClient,
  session: TransactionalSession,
  topic: string,
  connector: string,
  signal?: AbortSignal,
): Promise<Map<string, JsonValue>> {
  const all = await readAllOffsets(kafka, session, topic, signal);
  return new Map([...(all.get(connector) ?? new Map<string, OffsetEntry>())].map(([p, e]) => [p, e.offset]));
}
