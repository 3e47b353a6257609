// Co-partitioned assignment for the partitioned processor (Kafka Streams' tasks): partition p of every input
// topic goes to the same group member, so one task (one engine, one state store, one transactional
// producer, one changelog partition) sees every event of the entities hashed to p, whatever source they
// came from. kafkajs's round-robin assigner spreads topic-partitions independently, which would split a
// customer's CRM changes and transfers between members.
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

/** Partition numbers 0..n-1 dealt to the members in turn (members sorted by id, so every member computes
 * the same answer); each member gets those partitions of every topic. */
export function coPartitionedAssignment(
  memberIds: string[],
  partitionsByTopic: Map<string, number>,
): Map<string, Record<string, number[]>> {
  const members = [...memberIds].sort();
  const out = new Map<string, Record<string, number[]>>(members.map((m) => [m, {}]));
  const n = Math.max(0, ...partitionsByTopic.values());
  for (let p = 0; p < n; p++) {
    const assignment = out.get(members[p % members.length]!)!;
    for (const [topic, count] of partitionsByTopic) if (p < count) (assignment[topic] ??= []).push(p);
  }
  return out;
}

export const CoPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: 'TributaryCoPartitioned',
  version: 0,
  async assign({ members, topics }) {
    const counts = new Map(topics.map((t) => [t, cluster.findTopicPartitionMetadata(t).length]));
    const assignment = coPartitionedAssignment(
      members.map((m) => m.memberId),
      counts,
    );
    return [...assignment].map(([memberId, a]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({
        version: 0,
        assignment: a,
        userData: Buffer.alloc(0),
      }),
    }));
  },
  protocol({ topics }) {
    return {
      name: 'TributaryCoPartitioned',
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
