// Task distribution rides on Kafka's own group membership: every worker is a member of one consumer
// group over the tasks topic, the broker's group coordinator decides who is alive and who leads, and the
// elected leader runs our assigner. No consensus of our own.
//
// kafkajs specifics this module deals with (2.2.4):
// - A member's assignment reaches it only as topic partitions: kafkajs drops the assignment's userData.
//   So each member advertises its task list in its join metadata, and the leader answers with partition
//   numbers that index into *that member's own* list (partition 1 + i is task i). Members never need to
//   agree on a global numbering, and the tasks topic needs as many partitions as the longest task list.
// - kafkajs only heartbeats between fetched batches: a member with no partitions never heartbeats and is
//   dropped from the group (kafkajs issue 1361). Every member is therefore also given partition 0 (a
//   group assignment is plain data to the coordinator; two members may hold the same partition). Nothing is
//   ever written to the topic: the fetches come back empty and each one heartbeats.
// - There is no public "rejoin" in kafkajs. `nudge()` joins a short-lived probe member: the coordinator
//   then makes every member rejoin, with fresh metadata, and the probe leaves again.
// - A crash with a non-retriable error leaves the consumer stopped; this module recreates it.
import { AssignerProtocol, type Consumer, type Kafka, type PartitionAssigner } from 'kafkajs';
import type { Logger } from 'pino';

export const GROUP_PROTOCOL = 'tributary-tasks';

export interface GroupOptions {
  groupId: string;
  topic: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  rebalanceTimeoutMs: number;
  /** This member's advertisement, taken at every join (JSON-serialisable data in a Buffer). */
  metadata: () => Buffer;
  /** Runs on the elected leader: every member's advertisement in, partitions per member id out. */
  assign: (members: { memberId: string; metadata: Buffer }[]) => Promise<Map<string, number[]>>;
  /** After every completed rebalance: this member's partitions and the advertisement they index. */
  onAssignment: (
    partitions: number[],
    advertised: Buffer,
    info: { memberId: string; isLeader: boolean },
  ) => void;
  /** A rebalance started (another member joined, left or died). */
  onRebalancing?: () => void;
  /** The member is out of the group (crashed, reconnecting) or back in it. */
  onMembership?: (inGroup: boolean) => void;
  logger: Logger;
}

export interface TaskGroup {
  /** Makes every member rejoin and re-advertise (after a config change). */
  nudge(): Promise<void>;
  /** Leaves the group: the other members take over at once instead of after the session timeout. */
  leave(): Promise<void>;
}

const PROBE = Buffer.from(JSON.stringify({ probe: true }));

export function isProbe(metadata: Buffer): boolean {
  return metadata.equals(PROBE);
}

function assigner(opts: GroupOptions, advertise: () => Buffer): PartitionAssigner {
  return () => ({
    name: GROUP_PROTOCOL,
    version: 1,
    protocol: ({ topics }) => ({
      name: GROUP_PROTOCOL,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: advertise() }),
    }),
    async assign({ members }) {
      const decoded = members.map((m) => ({
        memberId: m.memberId,
        metadata: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.userData ?? Buffer.alloc(0),
      }));
      const partitions = await opts.assign(decoded);
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: {
            [opts.topic]: [...new Set([0, ...(partitions.get(m.memberId) ?? [])])].sort((a, b) => a - b),
          },
          userData: Buffer.alloc(0),
        }),
      }));
    },
  });
}

export async function joinTaskGroup(kafka: Kafka, opts: GroupOptions): Promise<TaskGroup> {
  const log = opts.logger;
  let closing = false;
  let consumer: Consumer | null = null;
  // The advertisement of the join in progress: the assignment that follows indexes into it.
  let advertised: Buffer = Buffer.alloc(0);

  const consumerFor = (probe: boolean) =>
    kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: opts.heartbeatIntervalMs,
      rebalanceTimeout: opts.rebalanceTimeoutMs,
      // Heartbeats happen between fetches: keep the long poll well under the heartbeat interval.
      maxWaitTimeInMs: Math.min(250, Math.max(50, Math.floor(opts.heartbeatIntervalMs / 2))),
      allowAutoTopicCreation: false,
      partitionAssigners: [
        assigner(
          opts,
          probe
            ? () => PROBE
            : () => {
                advertised = opts.metadata();
                return advertised;
              },
        ),
      ],
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 3_000, restartOnFailure: async () => true },
    });

  const start = async (): Promise<void> => {
    const c = consumerFor(false);
    consumer = c;
    c.on(c.events.GROUP_JOIN, (e) => {
      opts.onMembership?.(true);
      opts.onAssignment(e.payload.memberAssignment[opts.topic] ?? [], advertised, {
        memberId: e.payload.memberId,
        isLeader: e.payload.isLeader,
      });
    });
    c.on(c.events.REBALANCING, () => opts.onRebalancing?.());
    c.on(c.events.CRASH, (e) => {
      opts.onMembership?.(false);
      log.warn({ err: e.payload.error.message, restart: e.payload.restart }, 'group member crashed');
      if (!e.payload.restart && !closing) {
        // kafkajs gave up on this consumer: build a new one after a pause.
        setTimeout(() => {
          if (!closing) void start().catch((err: unknown) => log.error({ err }, 'cannot rejoin the group'));
        }, 2_000).unref();
      }
    });
    await c.connect();
    await c.subscribe({ topic: opts.topic, fromBeginning: false });
    await c.run({ autoCommit: false, eachBatch: async () => {} });
  };
  await start();

  let running: Promise<void> | null = null;
  let queued: Promise<void> | null = null;
  const nudgeOnce = async () => {
    const probe = consumerFor(true);
    const joined = new Promise<void>((resolve) => probe.on(probe.events.GROUP_JOIN, () => resolve()));
    try {
      await probe.connect();
      await probe.subscribe({ topic: opts.topic, fromBeginning: false });
      await probe.run({ autoCommit: false, eachBatch: async () => {} });
      // run() resolves once the probe's join completed: every member has rejoined by then.
      await Promise.race([
        joined,
        new Promise((r) => setTimeout(r, opts.rebalanceTimeoutMs + opts.sessionTimeoutMs).unref()),
      ]);
    } finally {
      await probe.disconnect().catch(() => {});
    }
  };

  return {
    nudge() {
      // Coalesce: while one nudge runs, later calls share the single one that follows it (which sees the
      // newest state).
      const runOne = () => (running = nudgeOnce().finally(() => (running = null)));
      if (queued) return queued;
      if (!running) return runOne();
      queued = running
        .catch(() => {})
        .then(() => {
          queued = null;
          return runOne();
        });
      return queued;
    },
    async leave() {
      closing = true;
      await Promise.all([running?.catch(() => {}), queued?.catch(() => {})]);
      await consumer?.disconnect().catch(() => {});
    },
  };
}
