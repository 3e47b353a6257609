import { Kafka, logLevel, type Admin } from 'kafkajs';

/** Records of `topics` not yet covered by consumer group `groupId`'s committed offsets (a partition with no
 * committed offset counts from 0), asked through a connected `admin` (pollers keep one). */
export async function groupLagOf(admin: Admin, groupId: string, topics: string[]): Promise<number> {
  let behind = 0;
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    for (const p of ends) {
      const c = committed?.partitions.find((x) => x.partition === p.partition);
      behind += Math.max(0, Number(p.high) - (c && Number(c.offset) >= 0 ? Number(c.offset) : 0));
    }
  }
  return behind;
}

/** groupLagOf with an admin client of its own, for a single question. */
export async function groupLag(brokers: string[], groupId: string, topics: string[]): Promise<number> {
  const admin = new Kafka({ brokers, clientId: 'testkit-group-lag', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    return await groupLagOf(admin, groupId, topics);
  } finally {
    await admin.disconnect();
  }
}
