// `tributary offsets list|reset`: read or clear a connector's committed source offsets.
import type { Logger } from '@tributary/sdk';
import type { ResolvedConnector } from './registry.ts';
import type { TributaryConfig } from './config.ts';
import { createKafkaClient } from './kafka/client.ts';
import { offsetTombstone, readAllOffsets, type OffsetsByConnector } from './offset-store.ts';
import { kafkaSettings, transactionalId } from './worker.ts';

export async function listOffsets(cfg: TributaryConfig, logger: Logger): Promise<OffsetsByConnector> {
  const kafka = createKafkaClient(kafkaSettings(cfg), logger);
  const session = await kafka.transactionalSession(`${cfg.kafka.transactionalIdPrefix}-cli-offsets`);
  try {
    await kafka.ensureTopics([
      {
        topic: cfg.topics.offsetsTopic,
        numPartitions: cfg.topics.offsetsPartitions,
        replicationFactor: cfg.topics.replicationFactor,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
      },
    ]);
    return await readAllOffsets(kafka, session, cfg.topics.offsetsTopic);
  } finally {
    await session.close();
    await kafka.close();
  }
}

/** Fences every task of the connector (a running instance stops: it must not write after the reset),
 * then writes tombstones for its offsets in one transaction. Returns the partitions reset. */
export async function resetOffsets(
  cfg: TributaryConfig,
  c: ResolvedConnector,
  logger: Logger,
  partition?: string,
): Promise<string[]> {
  const kafka = createKafkaClient(kafkaSettings(cfg), logger);
  const specs = c.source.tasks ? c.source.tasks(c.config, c.connector.tasksMax) : [{ taskId: 0 }];
  const sessions = [];
  try {
    for (const s of specs)
      sessions.push(await kafka.transactionalSession(transactionalId(cfg, c.connector.name, s.taskId)));
    const all = await readAllOffsets(kafka, sessions[0]!, cfg.topics.offsetsTopic);
    const parts = [...(all.get(c.connector.name)?.keys() ?? [])]
      .filter((p) => partition === undefined || p === partition)
      .sort();
    if (parts.length)
      await sessions[0]!.sendAndCommit(
        parts.map((p) => offsetTombstone(cfg.topics.offsetsTopic, c.connector.name, p)),
      );
    return parts;
  } finally {
    for (const s of sessions) await s.close();
    await kafka.close();
  }
}
