// Reading and changing a connector's committed source offsets, for the CLI (`tributary offsets`) and the
// operator API. Changes fence every task of the connector first: a running instance must not commit
// after them, so the API only allows them while the connector is paused.
import type { JsonValue, Logger } from '@tributary/sdk';
import type { ResolvedConnector } from './registry.ts';
import type { TributaryConfig } from './config.ts';
import { createKafkaClient, type KafkaClient } from './kafka/client.ts';
import {
  offsetRecord,
  offsetTombstone,
  readAllOffsets,
  type OffsetEntry,
  type OffsetsByConnector,
} from './offset-store.ts';
import { transactionalId } from './tasks.ts';
import { kafkaSettings } from './worker.ts';

function offsetsTopicSpec(cfg: TributaryConfig) {
  return {
    topic: cfg.topics.offsetsTopic,
    numPartitions: cfg.topics.offsetsPartitions,
    replicationFactor: cfg.topics.replicationFactor,
    configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
  };
}

/** Every committed offset, read to the end with read_committed (see offset-store.ts). `readerId` is the
 * transactional id of the marker writer: one per concurrent reader. */
export async function readOffsets(
  kafka: KafkaClient,
  cfg: TributaryConfig,
  readerId: string,
): Promise<OffsetsByConnector> {
  await kafka.ensureTopics([offsetsTopicSpec(cfg)]);
  const session = await kafka.transactionalSession(readerId);
  try {
    return await readAllOffsets(kafka, session, cfg.topics.offsetsTopic);
  } finally {
    await session.close();
  }
}

export interface OffsetChange {
  partition: string;
  /** null deletes the partition's offset (the task starts it afresh). */
  offset: JsonValue | null;
}

/** Fences every task of the connector, then writes the changes (all partitions' tombstones when `changes`
 * is 'reset') in one transaction. Returns the partitions written. */
export async function writeOffsets(
  kafka: KafkaClient,
  cfg: TributaryConfig,
  connector: string,
  taskIds: readonly number[],
  changes: readonly OffsetChange[] | 'reset',
): Promise<string[]> {
  await kafka.ensureTopics([offsetsTopicSpec(cfg)]);
  const sessions = [];
  try {
    for (const id of taskIds.length ? taskIds : [0])
      sessions.push(await kafka.transactionalSession(transactionalId(cfg, connector, id)));
    const writer = sessions[0]!;
    let list: OffsetChange[];
    if (changes === 'reset') {
      const all = await readAllOffsets(kafka, writer, cfg.topics.offsetsTopic);
      list = [...(all.get(connector)?.keys() ?? [])].sort().map((partition) => ({ partition, offset: null }));
    } else list = [...changes];
    if (list.length)
      await writer.sendAndCommit(
        list.map((c) =>
          c.offset === null
            ? offsetTombstone(cfg.topics.offsetsTopic, connector, c.partition)
            : offsetRecord(cfg.topics.offsetsTopic, connector, c.partition, c.offset, -1),
        ),
      );
    return list.map((c) => c.partition);
  } finally {
    for (const s of sessions) await s.close();
  }
}

/** `tributary offsets list`: own client, no worker needed. */
export async function listOffsets(cfg: TributaryConfig, logger: Logger): Promise<OffsetsByConnector> {
  const kafka = createKafkaClient(kafkaSettings(cfg), logger);
  try {
    return await readOffsets(kafka, cfg, `${cfg.kafka.transactionalIdPrefix}-cli-offsets`);
  } finally {
    await kafka.close();
  }
}

/** `tributary offsets reset`: fences the connector's tasks (a running instance stops) and deletes its
 * offsets (all partitions, or one). Returns the partitions reset. */
export async function resetOffsets(
  cfg: TributaryConfig,
  c: ResolvedConnector,
  logger: Logger,
  partition?: string,
): Promise<string[]> {
  const kafka = createKafkaClient(kafkaSettings(cfg), logger);
  const specs = c.source.tasks ? c.source.tasks(c.config, c.connector.tasksMax) : [{ taskId: 0 }];
  try {
    if (partition === undefined)
      return await writeOffsets(
        kafka,
        cfg,
        c.connector.name,
        specs.map((s) => s.taskId),
        'reset',
      );
    const current = await readOffsets(kafka, cfg, `${cfg.kafka.transactionalIdPrefix}-cli-offsets`);
    if (!current.get(c.connector.name)?.has(partition)) return [];
    return await writeOffsets(
      kafka,
      cfg,
      c.connector.name,
      specs.map((s) => s.taskId),
      [{ partition, offset: null }],
    );
  } finally {
    await kafka.close();
  }
}

export type { OffsetEntry };
