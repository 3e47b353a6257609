// The only module that imports kafkajs. Everything Kafka-specific the runtime needs goes through here so
// the client library (unmaintained since 2023) can be replaced in one place.
import { randomUUID } from 'node:crypto';
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type Admin,
  type Producer,
  type Transaction,
  type Message,
  type KafkaMessage,
  type SASLOptions,
  type LogEntry,
} from 'kafkajs';
import type { Logger } from 'pino';
import { isFencingError } from './errors.ts';
import { joinTaskGroup, type GroupOptions, type TaskGroup } from './group.ts';

export type { GroupOptions, TaskGroup } from './group.ts';

export interface KafkaSettings {
  brokers: string[];
  clientId: string;
  ssl: boolean;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  transactionTimeoutMs: number;
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
}

export interface OutRecord {
  topic: string;
  /** Explicit partition; by default the key's murmur2 hash picks it (Java-compatible). */
  partition?: number;
  key: string | null;
  value: Buffer | null;
  headers?: Record<string, string>;
  timestamp: number;
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries?: { name: string; value: string }[];
}

/** A transactional producer for one task. Records are sent into an open transaction as they arrive, and
 * `commit` ends it: memory holds one batch, not a whole transaction. */
export interface TransactionalSession {
  readonly transactionalId: string;
  /** Sends records within the open transaction, beginning one if none is open. */
  send(records: readonly OutRecord[]): Promise<void>;
  /** Commits the open transaction (nothing to do when none is open). */
  commit(): Promise<void>;
  /** send + commit, for one-shot writes (markers, tombstones). */
  sendAndCommit(records: readonly OutRecord[]): Promise<void>;
  close(): Promise<void>;
}

export interface ReadMessage {
  partition: number;
  offset: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

export interface KafkaClient {
  ensureTopics(specs: TopicSpec[]): Promise<void>;
  partitionCount(topic: string): Promise<number>;
  /** Connects a transactional producer; connecting fences any older producer with the same id and aborts
   * its open transaction. */
  transactionalSession(transactionalId: string): Promise<TransactionalSession>;
  /** Reads a topic from the beginning with read_committed until `isEnd` says every partition is done. */
  readUntil(
    topic: string,
    onMessage: (m: ReadMessage) => void,
    isEnd: (m: ReadMessage) => boolean,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Grows a topic to at least `count` partitions (Kafka cannot shrink them). */
  ensurePartitions(topic: string, count: number): Promise<void>;
  /** Reads a topic from the beginning and keeps following it (read_committed). `caughtUp` resolves once
   * every record present at the call has been delivered. */
  follow(topic: string, onMessage: (m: ReadMessage) => void): Promise<Follower>;
  /** Follows a topic from at most `back` offsets before each partition's current end, then live
   * (read_committed): for views that want the latest records, not the whole history. */
  tail(topic: string, back: number, onMessage: (m: ReadMessage) => void): Promise<Follower>;
  /** A plain idempotent producer (no transactions), for small control records. */
  producer(): Promise<PlainProducer>;
  /** Joins the workers' group (see group.ts). */
  joinGroup(opts: GroupOptions): Promise<TaskGroup>;
  close(): Promise<void>;
}

export interface Follower {
  caughtUp: Promise<void>;
  stop(): Promise<void>;
}

export interface PlainProducer {
  send(records: readonly OutRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Chunk size for one produce request: under the broker's default `message.max.bytes` (1 MiB) per batch. */
const MAX_CHUNK_BYTES = 900 * 1024;

function kafkaLogger(logger: Logger) {
  // kafkajs logs every connection retry at ERROR; the runtime surfaces the errors that matter itself, so
  // kafkajs's own lines go to debug: an outage gives one line per backoff, not a flood.
  return () =>
    ({ namespace, log }: LogEntry) => {
      const { message, ...rest } = log;
      logger.debug({ kafkajs: namespace, ...rest }, message);
    };
}

export function createKafkaClient(settings: KafkaSettings, logger: Logger): KafkaClient {
  const sasl: SASLOptions | undefined = settings.sasl
    ? ({
        mechanism: settings.sasl.mechanism,
        username: settings.sasl.username,
        password: settings.sasl.password,
      } as SASLOptions)
    : undefined;
  const kafka = new Kafka({
    clientId: settings.clientId,
    brokers: settings.brokers,
    ssl: settings.ssl,
    ...(sasl ? { sasl } : {}),
    connectionTimeout: settings.connectionTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLogger(logger),
    // Short inner retries: the runtime's supervisor owns backoff, with jitter and a log line per attempt.
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  });

  let admin: Admin | null = null;
  const getAdmin = async () => {
    if (!admin) {
      const a = kafka.admin();
      await a.connect();
      admin = a;
    }
    return admin;
  };

  return {
    async ensureTopics(specs) {
      const a = await getAdmin();
      const existing = new Set(await a.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length === 0) return;
      try {
        await a.createTopics({ topics: missing, waitForLeaders: true });
      } catch (err) {
        // Another worker may have created it between list and create.
        if (!String((err as Error).message).includes('already exists')) throw err;
      }
    },

    async partitionCount(topic) {
      const a = await getAdmin();
      const offsets = await a.fetchTopicOffsets(topic);
      return offsets.length;
    },

    async transactionalSession(transactionalId) {
      return openSession(kafka, transactionalId, settings.transactionTimeoutMs);
    },

    async readUntil(topic, onMessage, isEnd, signal) {
      const consumer = kafka.consumer({
        groupId: `tributary-reader-${randomUUID()}`,
        readUncommitted: false,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: 200,
        sessionTimeout: 30_000,
      });
      await consumer.connect();
      try {
        await consumer.subscribe({ topic, fromBeginning: true });
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(signal?.reason ?? new Error('aborted'));
          signal?.addEventListener('abort', onAbort, { once: true });
          let done = false;
          consumer
            .run({
              autoCommit: false,
              eachBatchAutoResolve: true,
              eachBatch: async ({ batch }) => {
                for (const m of batch.messages) {
                  if (done) return;
                  const msg = readMessage(batch.partition, m);
                  onMessage(msg);
                  if (isEnd(msg)) {
                    done = true;
                    signal?.removeEventListener('abort', onAbort);
                    resolve();
                    return;
                  }
                }
              },
            })
            .catch(reject);
        });
      } finally {
        await consumer.disconnect().catch(() => {});
      }
    },

    async ensurePartitions(topic, count) {
      const a = await getAdmin();
      const have = (await a.fetchTopicOffsets(topic)).length;
      if (have >= count) return;
      try {
        await a.createPartitions({ topicPartitions: [{ topic, count }] });
      } catch (err) {
        // Another worker grew it first (INVALID_PARTITIONS: "already has N partitions").
        if ((await a.fetchTopicOffsets(topic)).length < count) throw err;
      }
    },

    async follow(topic, onMessage) {
      const a = await getAdmin();
      const ends = new Map<number, number>();
      for (const p of await a.fetchTopicOffsets(topic))
        if (Number(p.high) > Number(p.low)) ends.set(p.partition, Number(p.high));
      const consumer = kafka.consumer({
        groupId: `tributary-follower-${randomUUID()}`,
        readUncommitted: false,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: 100,
        sessionTimeout: 30_000,
        retry: { retries: 5, restartOnFailure: async () => true },
      });
      let resolveCaughtUp = () => {};
      const caughtUp = new Promise<void>((r) => (resolveCaughtUp = r));
      const reached = (partition: number, lastOffset: number) => {
        const end = ends.get(partition);
        if (end !== undefined && lastOffset >= end - 1) ends.delete(partition);
        if (ends.size === 0) resolveCaughtUp();
      };
      if (ends.size === 0) resolveCaughtUp();
      // Batches emptied by compaction or holding only transaction markers still report their position.
      consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
        reached(payload.partition, Number(payload.lastOffset)),
      );
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          for (const m of batch.messages) onMessage(readMessage(batch.partition, m));
        },
      });
      return { caughtUp, stop: () => consumer.disconnect().catch(() => {}) };
    },

    async tail(topic, back, onMessage) {
      const a = await getAdmin();
      const starts = (await a.fetchTopicOffsets(topic)).map((p) => ({
        partition: p.partition,
        offset: String(Math.max(Number(p.low), Number(p.high) - back)),
      }));
      const consumer = kafka.consumer({
        groupId: `tributary-tail-${randomUUID()}`,
        readUncommitted: false,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: 500,
        sessionTimeout: 30_000,
        retry: { retries: 5, restartOnFailure: async () => true },
      });
      try {
        await consumer.connect();
        // A fresh group has no committed offsets; the seeks below apply when the partitions are assigned.
        await consumer.subscribe({ topic, fromBeginning: false });
        await consumer.run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const m of batch.messages) onMessage(readMessage(batch.partition, m));
          },
        });
        for (const s of starts) consumer.seek({ topic, ...s });
      } catch (err) {
        await consumer.disconnect().catch(() => {});
        throw err;
      }
      // Nothing to wait for: the view fills as records arrive.
      return { caughtUp: Promise.resolve(), stop: () => consumer.disconnect().catch(() => {}) };
    },

    async producer() {
      const p = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
      await p.connect();
      return {
        async send(records) {
          for (const topicMessages of chunks(records)) await p.sendBatch({ topicMessages, acks: -1 });
        },
        close: () => p.disconnect().catch(() => {}),
      };
    },

    joinGroup: (opts) => joinTaskGroup(kafka, opts),

    async close() {
      const a = admin;
      admin = null;
      await a?.disconnect().catch(() => {});
    },
  };
}

function readMessage(partition: number, m: KafkaMessage): ReadMessage {
  return {
    partition,
    offset: m.offset,
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value,
    headers: decodeHeaders(m.headers),
    timestamp: m.timestamp,
  };
}

function decodeHeaders(h: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h ?? {})) {
    if (v === undefined || v === null) continue;
    out[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
  }
  return out;
}

function toMessage(r: OutRecord): Message {
  const m: Message = { key: r.key, value: r.value, headers: r.headers ?? {}, timestamp: String(r.timestamp) };
  if (r.partition !== undefined) m.partition = r.partition;
  return m;
}

function recordBytes(r: OutRecord): number {
  let n = 64 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  for (const [k, v] of Object.entries(r.headers ?? {})) n += k.length + v.length + 8;
  return n;
}

/** Splits a transaction's records into produce requests of bounded size, grouped by topic. */
function* chunks(records: readonly OutRecord[]) {
  let topicMessages = new Map<string, Message[]>();
  let bytes = 0;
  for (const r of records) {
    const size = recordBytes(r);
    if (bytes > 0 && bytes + size > MAX_CHUNK_BYTES) {
      yield [...topicMessages].map(([topic, messages]) => ({ topic, messages }));
      topicMessages = new Map();
      bytes = 0;
    }
    let list = topicMessages.get(r.topic);
    if (!list) topicMessages.set(r.topic, (list = []));
    list.push(toMessage(r));
    bytes += size;
  }
  if (bytes > 0) yield [...topicMessages].map(([topic, messages]) => ({ topic, messages }));
}

async function openSession(
  kafka: Kafka,
  transactionalId: string,
  transactionTimeoutMs: number,
): Promise<TransactionalSession> {
  const producer: Producer = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: transactionTimeoutMs,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  // kafkajs initializes the producer id (InitProducerId: this is what fences the previous owner of the
  // transactional id and aborts its open transaction) lazily on the first transaction; do it now, so a
  // task is fenced in before it reads offsets.
  const init = await producer.transaction();
  await init.abort();

  let broken = false;
  let tx: Transaction | null = null;
  // kafkajs 2.2.4 (issue 1275): a failed send or commit can leave the transaction state machine stuck.
  // Abort if it still lets us, then never reuse this producer: the caller opens a new session (which
  // re-fences) and resumes from the committed offsets.
  const failed = async (err: unknown): Promise<never> => {
    broken = true;
    if (tx && !isFencingError(err)) await tx.abort().catch(() => {});
    tx = null;
    await producer.disconnect().catch(() => {});
    throw err;
  };
  const session: TransactionalSession = {
    transactionalId,
    async send(records) {
      if (broken) throw new Error(`transactional producer ${transactionalId} is closed after a failure`);
      try {
        tx ??= await producer.transaction();
        for (const topicMessages of chunks(records)) await tx.sendBatch({ topicMessages, acks: -1 });
      } catch (err) {
        await failed(err);
      }
    },
    async commit() {
      if (broken) throw new Error(`transactional producer ${transactionalId} is closed after a failure`);
      if (!tx) return;
      try {
        await tx.commit();
        tx = null;
      } catch (err) {
        await failed(err);
      }
    },
    async sendAndCommit(records) {
      await session.send(records);
      await session.commit();
    },
    async close() {
      broken = true;
      await producer.disconnect().catch(() => {});
    },
  };
  return session;
}
