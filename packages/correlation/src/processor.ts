// The live processor: exactly-once consume-transform-produce. One consumer group over the input topics
// (autoCommit off); for each fetched batch, the alerts, the state changelog records and the consumed
// offsets go to Kafka in one transaction. On start the transactional id fences any older instance and
// aborts its open transaction, then the state is rebuilt from the committed changelog, so state, alerts
// and offsets always describe the same prefix of the input.
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type Consumer,
  type Batch,
  type LogEntry,
  type Message,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { recordHeaders, TOPICS } from '@tributary/schemas';
import { sleep, withRetry } from '@tributary/sdk';
import { deadLetterMessage } from './dead-letter.ts';
import { changelogMessages, restoreChangelog } from './changelog.ts';
import type { Rule } from './dsl.ts';
import { CoPartitionedAssigner } from './co-partition.ts';
import { createEngine, type Emitted, type Engine } from './engine.ts';
import { decodeMessage, type CorrelationEvent, type InputTopics } from './events.ts';
import { decodeRouted, routedMessage, routesOf, type RouteOptions } from './route.ts';
import type { IdentityConfig } from './identity.ts';
import { createInputClock, type InputClock } from './input-clock.ts';
import { isFencingError } from '@tributary/runtime';
import { createStore, type StateStore } from './store.ts';
import { ms, type Duration } from './time.ts';
import {
  EMPTY_WATCHLIST,
  loadWatchlist,
  watchWatchlistFiles,
  type Watchlist,
  type WatchlistFile,
} from './watchlist.ts';

export interface OutputTopics {
  alerts: string;
  /** Alerts of rules in `test` mode. */
  testAlerts: string;
  /** Compacted state changelog. */
  changelog: string;
  /** Malformed input records with the reason (default `deadletter`, the platform's dead-letter topic). */
  deadLetters?: string;
}

export interface ProcessorOptions {
  brokers: string[];
  clientId?: string;
  groupId: string;
  /** One per processor instance; defaults to `<groupId>-0`. Not used when `partitioned` (each task has
   * its own, `<groupId>-<partition>`). */
  transactionalId?: string;
  /** Scale out by partitions: the inputs are keyed by entity and co-partitioned (the same partition count,
   * the same partitioner), and partition p of every input is one task with its own state, changelog
   * partition and transactional producer. Instances in one group share the tasks. Default false: one task
   * over every input partition, one instance. */
  partitioned?: boolean;
  /** This processor is the rekey stage (route.ts): it runs no rules and keeps only the identity graph; it
   * writes each input event, in the same transaction as its consumed offsets, to the partitions of the
   * by-entity topic that `routesOf` picks. One task: its identity graph is global. */
  rekey?: RekeyTarget;
  /** This processor reads the by-entity topic the rekey stage writes (`partitioned` is implied): task p is
   * its partition p, with the ownership filter of route.ts on. */
  byEntity?: { topic: string; partitions: number };
  inputs: InputTopics;
  outputs: OutputTopics;
  /** Partitions for output topics the processor creates (default 1). */
  outputPartitions?: number;
  rules: Rule[];
  identity?: IdentityConfig;
  watchlistFiles?: WatchlistFile[];
  watchlistPollMs?: number;
  allowedLateness?: Duration;
  /** How far in event time one input partition may run ahead of the slowest other one that still has
   * data (default: half the allowed lateness, so a backlog does not make the others' events late). */
  maxSkew?: Duration;
  /** Must exceed the longest batch (kafkajs default 60 s). */
  transactionTimeoutMs?: number;
  /** Consumer group session timeout: how long a crashed member holds its partitions (default 30 s; the
   * broker's minimum is 6 s). */
  sessionTimeoutMs?: number;
  /** Upper bound of one fetch per partition, i.e. of one transaction's input (default 4 MiB: a transaction
   * per fetched batch, and fewer, larger ones measured about 10% faster than with kafkajs's 1 MiB). */
  maxBytesPerPartition?: number;
  logger: Logger;
  signal: AbortSignal;
  /** Called when a session failed and the processor backs off to start again from Kafka (metrics). */
  onRestart?: (info: { attempt: number; error: string }) => void;
  /** Called after each committed transaction (tests, metrics); a watchlist re-screen committed outside a
   * batch reports the watchlist topic, the task's partition number and no records. */
  onCommit?: (info: CommitInfo) => void;
}

/** The by-entity topic the rekey stage writes, and the cross-entity rules' alerts it routes. */
export interface RekeyTarget extends RouteOptions {
  topic: string;
}

/** What `onCommit` reports of a committed transaction. */
export interface CommitInfo {
  topic: string;
  partition: number;
  records: number;
  alerts: number;
  /** Records of this batch older than the watermark (counted, matched by no rule). */
  late: number;
  /** Malformed records of this batch, written to the dead-letter topic. */
  deadLetters: number;
}

const deadLetterTopicOf = (o: ProcessorOptions) => o.outputs.deadLetters ?? TOPICS.deadLetters.name;

const MAX_CHUNK_BYTES = 900 * 1024;
export const DEFAULT_MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;

function kafkaLogger(logger: Logger) {
  return () =>
    ({ namespace, log }: LogEntry) => {
      const { message, ...rest } = log;
      logger.debug({ kafkajs: namespace, ...rest }, message);
    };
}

function* chunks(messages: { topic: string; m: Message }[]): Generator<TopicMessages[]> {
  let map = new Map<string, Message[]>();
  let bytes = 0;
  for (const { topic, m } of messages) {
    const size = 64 + String(m.key ?? '').length + (m.value ? (m.value as string | Buffer).length : 0);
    if (bytes > 0 && bytes + size > MAX_CHUNK_BYTES) {
      yield [...map].map(([t, ms]) => ({ topic: t, messages: ms }));
      map = new Map();
      bytes = 0;
    }
    let list = map.get(topic);
    if (!list) map.set(topic, (list = []));
    list.push(m);
    bytes += size;
  }
  if (bytes > 0) yield [...map].map(([t, ms]) => ({ topic: t, messages: ms }));
}

function alertMessages(alerts: Emitted[], outputs: OutputTopics): { topic: string; m: Message }[] {
  return alerts.map(({ alert, topic }) => ({
    topic: topic === 'test' ? outputs.testAlerts : outputs.alerts,
    m: {
      key: `${alert.ruleId}:${alert.entity}`,
      value: JSON.stringify(alert),
      headers: recordHeaders('alert'),
    },
  }));
}

/** Creates the output topics and returns the input topics to subscribe to. Partitioned: the inputs must
 * have one partition count (co-partitioned), and the changelog gets as many partitions. The by-entity
 * topic is created by whichever of the rekey stage and the processor starts first, with the configured
 * partition count, which an existing one must have. */
async function ensureOutputs(
  kafka: Kafka,
  o: ProcessorOptions,
): Promise<{ inputs: string[]; partitions: number; watchlistTopic: boolean }> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    // The by-entity topic, written by the rekey stage or read by this processor.
    const routedTopic = o.rekey ?? o.byEntity;
    if (routedTopic && existing.has(routedTopic.topic)) {
      const [meta] = (await admin.fetchTopicMetadata({ topics: [routedTopic.topic] })).topics;
      if (meta?.partitions.length !== routedTopic.partitions)
        throw new ProcessorConfigError(
          `rekey: the by-entity topic ${routedTopic.topic} has ${meta?.partitions.length} partitions, not the ` +
            `configured ${routedTopic.partitions} (routing depends on the count: recreate it or change the config)`,
        );
    }
    // Our own alerts are chained in-process; the alerts input is for alerts of other processors (the rekey
    // stage reads ours, for the cross-entity rules). A partitioned processor reads the watchlist topic
    // whole, outside the group (every task screens); the rekey stage does not route it.
    const inputs = o.byEntity
      ? [o.byEntity.topic]
      : Object.values(o.inputs).filter(
          (t, i, all) =>
            all.indexOf(t) === i &&
            (o.rekey || (t !== o.outputs.alerts && t !== o.outputs.testAlerts)) &&
            !((o.partitioned || o.rekey) && t === o.inputs.watchlist),
        );
    const created = new Set([o.byEntity?.topic, o.rekey ? o.outputs.alerts : undefined]);
    const missing = inputs.filter((t) => !existing.has(t) && !created.has(t));
    if (missing.length) o.logger.warn({ missing }, 'input topics missing; not subscribed');
    const present = inputs.filter((t) => existing.has(t) || created.has(t));
    let partitions = o.byEntity?.partitions ?? 1;
    if (o.partitioned && !o.byEntity && present.length) {
      const counts = new Map<string, number>();
      for (const { name, partitions: ps } of (await admin.fetchTopicMetadata({ topics: present })).topics)
        counts.set(name, ps.length);
      partitions = Math.max(...counts.values());
      if ([...counts.values()].some((n) => n !== partitions))
        throw new ProcessorConfigError(
          `partitioned: the input topics must have the same number of partitions (co-partitioned by ` +
            `entity); they have ${[...counts]
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([t, n]) => `${t}: ${n}`)
              .join(', ')}`,
        );
    }
    const tasks = o.partitioned || o.byEntity ? partitions : 1;
    // A changelog created below gets one partition per task; one that exists already must have enough.
    if (tasks > 1 && existing.has(o.outputs.changelog)) {
      const [meta] = (await admin.fetchTopicMetadata({ topics: [o.outputs.changelog] })).topics;
      if ((meta?.partitions.length ?? 0) < partitions)
        throw new ProcessorConfigError(
          `partitioned: the changelog ${o.outputs.changelog} has ${meta?.partitions.length} partitions, ` +
            `fewer than the ${partitions} of the inputs (one per task)`,
        );
    }
    const none = [] as { name: string; value: string }[];
    const wanted = [
      // The rekey stage reads the alerts topic (for the cross-entity rules): it creates it if it starts first.
      { topic: o.outputs.alerts, configEntries: none, n: 0 },
      ...(o.rekey ? [] : [{ topic: o.outputs.testAlerts, configEntries: none, n: 0 }]),
      {
        topic: o.outputs.changelog,
        configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
        n: tasks > 1 ? tasks : 0,
      },
      { topic: deadLetterTopicOf(o), configEntries: none, n: 0 },
      ...(routedTopic ? [{ topic: routedTopic.topic, configEntries: none, n: routedTopic.partitions }] : []),
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: wanted.map(({ n, ...t }) => ({
            ...t,
            numPartitions: n || (o.outputPartitions ?? 1),
            replicationFactor: -1,
          })),
        });
      } catch (err) {
        if (!String((err as Error).message).includes('already exists')) throw err;
      }
    }
    return {
      inputs: present,
      partitions,
      watchlistTopic: existing.has(o.inputs.watchlist),
    };
  } finally {
    await admin.disconnect();
  }
}

/** The topics do not fit the configuration (e.g. partitioned inputs that are not co-partitioned): retrying
 * cannot help, so the processor stops. */
export class ProcessorConfigError extends Error {
  override name = 'ProcessorConfigError';
}

/** Runs until `signal` aborts. Transient failures restart the session (new producer, state rebuilt from
 * the changelog); a fencing error (another instance took the transactional id over) is fatal, except in a
 * partitioned processor, where it means a task moved to another member; so is a ProcessorConfigError. */
export async function runProcessor(o: ProcessorOptions): Promise<void> {
  let attempt = 0;
  while (!o.signal.aborted) {
    try {
      await runSession(o, () => (attempt = 0));
      return;
    } catch (err) {
      if (o.signal.aborted) return;
      if (isFencingError(err)) {
        o.logger.error({ err }, 'fenced by another processor instance; stopping');
        throw err;
      }
      if (err instanceof ProcessorConfigError) {
        o.logger.error({ err }, 'the topics do not fit the configuration; stopping');
        throw err;
      }
      attempt++;
      o.onRestart?.({ attempt, error: err instanceof Error ? err.message : String(err) });
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
      o.logger.warn(
        { err, attempt, delayMs: Math.round(delay) },
        'processor session failed; restarting from the committed state',
      );
      await sleep(delay, o.signal).catch(() => {});
    }
  }
}

/** One engine over a set of input partitions, with its own state, transactional producer and input clock.
 * Not partitioned: one task (id 0) over every input partition. Partitioned: task p has partition p of
 * every input topic and partition p of the changelog. */
interface Task {
  id: number;
  producer: Producer;
  store: StateStore;
  engine: Engine;
  clock: InputClock;
  /** File watchlist not yet applied to this task's engine. */
  pendingList: Watchlist | null;
  /** Watchlist-topic records (partitioned: read outside the group) this task has applied. */
  wlApplied: number;
}

async function runSession(o: ProcessorOptions, onHealthy: () => void): Promise<void> {
  const { logger, signal } = o;
  const kafka = new Kafka({
    clientId: o.clientId ?? 'tributary-correlation',
    brokers: o.brokers,
    logLevel: KafkaLogLevel.INFO,
    logCreator: kafkaLogger(logger),
    retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 2_000 },
  });
  const partitioned = (o.partitioned ?? false) || o.byEntity !== undefined;
  const { inputs, watchlistTopic } = await ensureOutputs(kafka, o);
  const deadLetterTopic = deadLetterTopicOf(o);
  // Who wrote a dead letter, as the platform's dead-letter records name it (the rekey stage's group id
  // ends in -rekey).
  const connector = `correlation:${o.groupId}`;
  const transactionalIdOf = (task: number) =>
    partitioned ? `${o.groupId}-${task}` : (o.transactionalId ?? `${o.groupId}-0`);
  const tasks = new Map<number, Task>();
  let consumer: Consumer | null = null;
  let wlReader: Consumer | null = null;
  const session = new AbortController();
  const onAbort = () => session.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  const maxSkewMs = o.maxSkew !== undefined ? ms(o.maxSkew) : ms(o.allowedLateness ?? '1h') / 2;
  let fileList: Watchlist | null = o.watchlistFiles?.length ? await loadWatchlist(o.watchlistFiles) : null;
  // Partitioned: the watchlist topic's records, decoded, for every task to apply in order.
  const wlRecords: CorrelationEvent[] = [];
  /** The input partitions a task reads, from the consumer's current assignment. */
  let assignment: Record<string, number[]> = {};
  const partitionsOf = (task: number): { topic: string; partition: number }[] =>
    Object.entries(assignment)
      .filter(([topic]) => topic !== o.inputs.watchlist)
      .flatMap(([topic, ps]) =>
        ps.filter((p) => !partitioned || p === task).map((partition) => ({ topic, partition })),
      );
  /** The input clock's name of a partition. */
  const tpOf = ({ topic, partition }: { topic: string; partition: number }) => `${topic}:${partition}`;

  /** Connects the task's transactional producer (fencing the previous owner of its id and aborting that
   * owner's open transaction) and only then rebuilds its state from the committed changelog, so the state,
   * the alerts and the committed offsets always describe the same prefix of the input. */
  const openTask = async (id: number): Promise<Task> => {
    const producer = kafka.producer({
      transactionalId: transactionalIdOf(id),
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: o.transactionTimeoutMs ?? 60_000,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    try {
      const init = await producer.transaction();
      await init.abort();
      const store = createStore();
      const restored = await restoreChangelog(
        kafka,
        o.outputs.changelog,
        store,
        signal,
        partitioned ? id : undefined,
      );
      const engine = createEngine({
        rules: o.rules,
        identity: o.identity,
        store,
        allowedLateness: o.allowedLateness,
        alertsTopic: o.outputs.alerts,
        logger,
        ...(o.byEntity ? { ownership: { task: id, partitions: o.byEntity.partitions } } : {}),
        ...(o.rekey ? { identityOnly: true } : {}),
      });
      engine.restored();
      // Several fetches (maxWaitTimeInMs below) without a batch: the partition is empty or quiet.
      const clock = createInputClock({ maxSkewMs, idleMs: 3_000 });
      clock.reset(partitionsOf(id).map(tpOf), Date.now());
      logger.info(
        { task: id, restored, stateKeys: store.size(), transactionalId: transactionalIdOf(id) },
        'task ready',
      );
      return { id, producer, store, engine, clock, pendingList: fileList, wlApplied: 0 };
    } catch (err) {
      await producer.disconnect().catch(() => {});
      throw err;
    }
  };
  const closeTask = async (t: Task) => {
    tasks.delete(t.id);
    await t.producer.disconnect().catch(() => {});
  };

  try {
    if (!partitioned) tasks.set(0, await openTask(0));
    if (o.watchlistFiles?.length) {
      watchWatchlistFiles(
        o.watchlistFiles,
        fileList ?? EMPTY_WATCHLIST,
        (list) => {
          fileList = list;
          for (const t of tasks.values()) t.pendingList = list;
        },
        { signal: session.signal, logger, ...(o.watchlistPollMs ? { intervalMs: o.watchlistPollMs } : {}) },
      );
    }
    // Partitioned, the watchlist topic is read outside the group, if there is one.
    if (partitioned && watchlistTopic)
      wlReader = await readWatchlistTopic(kafka, o, wlRecords, session.signal);

    const sessionTimeout = o.sessionTimeoutMs ?? 30_000;
    consumer = kafka.consumer({
      groupId: o.groupId,
      readUncommitted: false,
      sessionTimeout,
      rebalanceTimeout: Math.max(sessionTimeout, 10_000),
      heartbeatInterval: Math.max(500, Math.floor(sessionTimeout / 10)),
      maxBytesPerPartition: o.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION,
      // Short long-polls, so a partition resumed by the input clock is fetched soon (kafkajs waits up to
      // 5 s on the partitions that have nothing before it sends the next fetch).
      maxWaitTimeInMs: 500,
      allowAutoTopicCreation: false,
      ...(partitioned ? { partitionAssigners: [CoPartitionedAssigner] } : {}),
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      logger.info({ assigned: payload.memberAssignment }, 'group joined'),
    );
    await consumer.connect();
    await consumer.subscribe({ topics: inputs, fromBeginning: true });
    logger.info({ inputs, partitioned }, 'processor ready');

    let failed: unknown = null;
    let batches = 0;
    // eachBatch, the idle watchlist tick and dropping tasks all touch the tasks: one at a time.
    let lock: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = lock.then(fn, fn);
      lock = run.catch(() => {});
      return run;
    };
    /** Alerts + the task's changed state (+ the batch's offsets) in one transaction of the task. */
    const commit = async (
      task: Task,
      alerts: Emitted[],
      offsets: { topic: string; partition: number; next: string } | null,
      records: { topic: string; m: Message }[] = [],
    ) => {
      const out = [
        ...records,
        ...alertMessages(alerts, o.outputs),
        ...changelogMessages(task.store.takeChanges(), task.engine.serialize).map((m) => ({
          topic: o.outputs.changelog,
          m: partitioned ? { ...m, partition: task.id } : m,
        })),
      ];
      if (out.length === 0 && !offsets) return;
      const tx = await task.producer.transaction();
      try {
        for (const topicMessages of chunks(out)) await tx.sendBatch({ topicMessages, acks: -1 });
        if (offsets) {
          // kafkajs 2.2.4 sends AddOffsetsToTxn without its retrier: right after the previous commit the
          // coordinator may still be writing that transaction's markers and answers CONCURRENT_TRANSACTIONS,
          // which the Java producer retries. Retried here too (the transaction is still open and unchanged),
          // instead of failing the session and rebuilding the engine from the changelog.
          await withRetry(
            () =>
              tx.sendOffsets({
                consumerGroupId: o.groupId,
                topics: [
                  {
                    topic: offsets.topic,
                    partitions: [{ partition: offsets.partition, offset: offsets.next }],
                  },
                ],
              }),
            {
              what: 'add the consumed offsets to the transaction',
              logger,
              signal,
              retries: 10,
              minTimeoutMs: 20,
              maxTimeoutMs: 1_000,
              shouldRetry: isConcurrentTransactions,
            },
          );
        }
        await tx.commit();
      } catch (err) {
        // kafkajs 2.2.4: a failed commit can leave the transaction stuck; abort if it lets us, then the
        // whole session (producer and engine included) is discarded and rebuilt from Kafka.
        if (!isFencingError(err)) await tx.abort().catch(() => {});
        throw err;
      }
      if (alerts.length)
        logger.info(
          { task: task.id, alerts: alerts.map((a) => `${a.alert.ruleId} ${a.alert.alertId}`) },
          'alerts committed',
        );
    };
    /** A partitioned task that another member now owns (its transactional id was fenced): drop it and stop
     * fetching its partitions until the next assignment. Not partitioned, fencing stops the processor. */
    const fenced = async (task: Task, err: unknown): Promise<boolean> => {
      if (!partitioned || !isFencingError(err)) return false;
      logger.warn({ task: task.id }, 'task fenced by another member; dropped until the next assignment');
      await closeTask(task);
      for (const at of partitionsOf(task.id)) {
        consumer!.pause([{ topic: at.topic, partitions: [at.partition] }]);
        paused.set(tpOf(at), at);
      }
      return true;
    };
    /** Pending watchlist work of a task (the file list, the watchlist topic's new records). */
    const applyWatchlist = (task: Task): Emitted[] => {
      const out: Emitted[] = [];
      if (task.pendingList) {
        const list = task.pendingList;
        task.pendingList = null;
        out.push(...task.engine.setWatchlist(list));
      }
      while (task.wlApplied < wlRecords.length)
        out.push(...task.engine.process(wlRecords[task.wlApplied++]!));
      return out;
    };
    const hasWatchlistWork = (task: Task) => task.pendingList !== null || task.wlApplied < wlRecords.length;

    // Event-time alignment of the inputs (see input-clock.ts), per task: partitions that ran ahead are
    // paused here and resumed once the others caught up, or once those went quiet (checked on a timer too).
    const paused = new Map<string, { topic: string; partition: number }>();
    const resumeUnblocked = () => {
      const now = Date.now();
      for (const task of tasks.values())
        for (const tp of task.clock.release(now)) {
          const at = paused.get(tp);
          if (!at) continue;
          paused.delete(tp);
          consumer!.resume([{ topic: at.topic, partitions: [at.partition] }]);
        }
    };
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // A new assignment: what the clocks knew may be about partitions we no longer own, and a
      // partitioned processor drops the tasks it no longer has (their state is rebuilt by the new owner).
      assignment = payload.memberAssignment;
      const ids = new Set(Object.values(assignment).flat());
      void exclusive(async () => {
        for (const task of [...tasks.values()]) {
          if (partitioned && !ids.has(task.id)) await closeTask(task);
          else task.clock.reset(partitionsOf(task.id).map(tpOf), Date.now());
        }
      }).catch(() => {});
      for (const { topic, partition } of paused.values())
        consumer!.resume([{ topic, partitions: [partition] }]);
      paused.clear();
    });

    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        failed ??= err;
        reject(err);
      };
      session.signal.addEventListener('abort', () => resolve(), { once: true });
      // A changed watchlist re-screens even when no input arrives.
      const tick = setInterval(() => {
        if (failed || session.signal.aborted || ![...tasks.values()].some(hasWatchlistWork)) return;
        exclusive(async () => {
          for (const task of [...tasks.values()]) {
            if (!hasWatchlistWork(task)) continue;
            try {
              const alerts = applyWatchlist(task);
              await commit(task, alerts, null);
              // Reported like a batch's commit (no input records), so re-screen alerts are counted too.
              o.onCommit?.({
                topic: o.inputs.watchlist,
                partition: task.id,
                records: 0,
                alerts: alerts.length,
                late: 0,
                deadLetters: 0,
              });
            } catch (err) {
              if (!(await fenced(task, err))) throw err;
            }
          }
        }).catch(fail);
      }, o.watchlistPollMs ?? 2_000);
      const align = setInterval(resumeUnblocked, 500);
      session.signal.addEventListener(
        'abort',
        () => {
          clearInterval(tick);
          clearInterval(align);
        },
        { once: true },
      );
      consumer!.on(consumer!.events.CRASH, ({ payload }) => fail(payload.error));
      consumer!
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          partitionsConsumedConcurrently: 1,
          eachBatch: ({ batch, resolveOffset, heartbeat, isRunning, isStale }) =>
            exclusive(async () => {
              // After a failure the engine is ahead of what Kafka holds: never feed it again.
              if (failed || !isRunning() || isStale()) return;
              const tp = `${batch.topic}:${batch.partition}`;
              if (paused.has(tp)) return; // a fenced task's partition, fetched before the pause
              if (batch.messages.length === 0) {
                // Only a transaction marker (a transactional input: the by-entity topic, the alerts topic):
                // commit past it, so the group's lag reaches 0 as a Java consumer's does.
                const open = tasks.get(partitioned ? batch.partition : 0);
                if (open && (batch as Batch & { isEmptyControlRecord(): boolean }).isEmptyControlRecord())
                  try {
                    await commit(open, [], {
                      topic: batch.topic,
                      partition: batch.partition,
                      next: String(BigInt(batch.lastOffset()) + 1n),
                    });
                  } catch (err) {
                    if (!(await fenced(open, err))) fail(err);
                  }
                return;
              }
              let task: Task | undefined;
              let beat = false;
              try {
                const id = partitioned ? batch.partition : 0;
                task = tasks.get(id);
                if (!task) {
                  // kafkajs heartbeats only between batches and when asked: keep the membership alive while
                  // a large changelog partition is restored inside this batch.
                  const keepAlive = setInterval(() => void heartbeat().catch(() => {}), 2_000);
                  try {
                    task = await openTask(id);
                  } finally {
                    clearInterval(keepAlive);
                  }
                  tasks.set(id, task);
                }
                const { engine, clock } = task;
                // Watchlist records are reference data stamped with wall-clock time: never held back.
                const aligned = batch.topic !== o.inputs.watchlist;
                const bound = aligned ? clock.bound(tp, Date.now()) : Number.POSITIVE_INFINITY;
                const alerts: Emitted[] = applyWatchlist(task);
                // The batch's records besides alerts and state: routed copies (the rekey stage), dead letters.
                const outgoing: { topic: string; m: Message }[] = [];
                let deadLetters = 0;
                const late0 = engine.stats().late;
                let skipped = 0;
                let records = 0;
                let last: string | null = null;
                let head = Number.NaN;
                let ahead = false;
                for (const m of batch.messages) {
                  const d = o.byEntity
                    ? decodeRouted(m)
                    : decodeMessage(
                        o.inputs,
                        batch.topic,
                        batch.partition,
                        m.offset,
                        m.value,
                        Number(m.timestamp),
                      );
                  if (d.ok && d.event.time > bound) {
                    head = d.event.time;
                    ahead = true;
                    break;
                  }
                  last = m.offset;
                  records++;
                  if (!d.ok) {
                    skipped++;
                    if (d.code !== 'retract') {
                      const at = { topic: batch.topic, partition: batch.partition, offset: m.offset };
                      if (deadLetters++ === 0)
                        logger.warn(
                          { ...at, code: d.code, reason: d.reason },
                          'malformed input record: written to the dead-letter topic',
                        );
                      outgoing.push({
                        topic: deadLetterTopic,
                        m: deadLetterMessage(connector, at, m.value, d.code, d.reason),
                      });
                    }
                    continue;
                  }
                  head = d.event.time;
                  alerts.push(...engine.process(d.event));
                  if (o.rekey)
                    for (const p of routesOf(d.event, engine.identity, o.rekey))
                      outgoing.push({ topic: o.rekey.topic, m: routedMessage(d.event, m.value!, p) });
                }
                // Every record taken: past the batch's end, which may be a transaction marker.
                const end = ahead || last === null ? last : batch.lastOffset();
                await commit(
                  task,
                  alerts,
                  end === null
                    ? null
                    : { topic: batch.topic, partition: batch.partition, next: String(BigInt(end) + 1n) },
                  outgoing,
                );
                if (end !== null) resolveOffset(end);
                if (aligned && !Number.isNaN(head))
                  clock.update(
                    tp,
                    head,
                    ahead ? 'held' : batch.offsetLag() === '0' ? 'drained' : 'reading',
                    Date.now(),
                  );
                if (ahead) {
                  consumer!.pause([{ topic: batch.topic, partitions: [batch.partition] }]);
                  paused.set(tp, { topic: batch.topic, partition: batch.partition });
                }
                resumeUnblocked();
                beat = true;
                batches++;
                onHealthy();
                o.onCommit?.({
                  topic: batch.topic,
                  partition: batch.partition,
                  records,
                  alerts: alerts.length,
                  late: engine.stats().late - late0,
                  deadLetters,
                });
                if (deadLetters > 1)
                  logger.warn({ count: deadLetters }, 'malformed input records dead-lettered in this batch');
                if (skipped) logger.debug({ skipped }, 'records skipped');
                if (batches % 100 === 0) logger.info({ batches, task: id, ...engine.stats() }, 'progress');
              } catch (err) {
                if (task && (await fenced(task, err))) return;
                fail(err);
              }
              // Outside the catch: the batch is committed, and a rebalance reported by the heartbeat is
              // kafkajs's to handle (it rejoins the group), not a failure of the session.
              if (beat) await heartbeat();
            }),
        })
        .catch(fail);
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
    session.abort();
    await consumer?.disconnect().catch(() => {});
    await wlReader?.disconnect().catch(() => {});
    for (const task of [...tasks.values()]) await closeTask(task);
  }
}

/** Partitioned: every task screens against the whole watchlist topic, so each instance reads it outside the
 * group (a throwaway group id, nothing committed), from the start, into `out`; the tasks apply the records
 * in order inside their own transactions. A restart reads it again: the entries are state (re-set to the
 * same values) and a re-screen's alerts have ids the findings state already holds. */
async function readWatchlistTopic(
  kafka: Kafka,
  o: ProcessorOptions,
  out: CorrelationEvent[],
  signal: AbortSignal,
): Promise<Consumer> {
  const reader = kafka.consumer({
    groupId: `${o.groupId}-watchlist-${randomUUID()}`,
    readUncommitted: false,
    maxWaitTimeInMs: 500,
    allowAutoTopicCreation: false,
  });
  await reader.connect();
  await reader.subscribe({ topics: [o.inputs.watchlist], fromBeginning: true });
  await reader.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message: m }) => {
      if (signal.aborted) return;
      const d = decodeMessage(o.inputs, topic, partition, m.offset, m.value, Number(m.timestamp));
      if (d.ok) out.push(d.event);
      // Read by every task outside the group, not in a transaction: logged, not dead-lettered.
      else if (d.code !== 'retract')
        o.logger.warn(
          { topic, partition, offset: m.offset, code: d.code, reason: d.reason },
          'malformed watchlist record skipped',
        );
    },
  });
  return reader;
}

/** The coordinator is still completing the previous transaction (error 51): retry the request. */
function isConcurrentTransactions(err: unknown): boolean {
  return (err as { type?: unknown } | null)?.type === 'CONCURRENT_TRANSACTIONS';
}
