// The live processor: exactly-once consume-transform-produce. One consumer group over the input topics
// (autoCommit off); for each fetched batch, the alerts, the state changelog records and the consumed
// offsets go to Kafka in one transaction. On start the transactional id fences any older instance and
// aborts its open transaction, then the state is rebuilt from the committed changelog, so state, alerts
// and offsets always describe the same prefix of the input.
import {
  Kafka,
  logLevel as KafkaLogLevel,
  type Consumer,
  type LogEntry,
  type Message,
  type Producer,
  type TopicMessages,
} from 'kafkajs';
import type { Logger } from 'pino';
import { recordHeaders } from '@tributary/schemas';
import { sleep, withRetry } from '@tributary/sdk';
import { changelogMessages, restoreChangelog } from './changelog.ts';
import type { Rule } from './dsl.ts';
import { createEngine, type Emitted } from './engine.ts';
import { decodeMessage, type InputTopics } from './events.ts';
import type { IdentityConfig } from './identity.ts';
import { createInputClock } from './input-clock.ts';
import { isFencingError } from '@tributary/runtime';
import { createStore } from './store.ts';
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
}

export interface ProcessorOptions {
  brokers: string[];
  clientId?: string;
  groupId: string;
  /** One per processor instance; defaults to `<groupId>-0`. */
  transactionalId?: string;
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
  /** Called after each committed transaction (tests, metrics). */
  onCommit?: (info: {
    topic: string;
    partition: number;
    records: number;
    alerts: number;
    /** Records of this batch older than the watermark (counted, matched by no rule). */
    late: number;
  }) => void;
}

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

async function ensureOutputs(kafka: Kafka, o: ProcessorOptions): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const wanted = [
      { topic: o.outputs.alerts, configEntries: [] as { name: string; value: string }[] },
      { topic: o.outputs.testAlerts, configEntries: [] },
      { topic: o.outputs.changelog, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] },
    ].filter((t) => !existing.has(t.topic));
    if (wanted.length) {
      try {
        await admin.createTopics({
          waitForLeaders: true,
          topics: wanted.map((t) => ({
            ...t,
            numPartitions: o.outputPartitions ?? 1,
            replicationFactor: -1,
          })),
        });
      } catch (err) {
        if (!String((err as Error).message).includes('already exists')) throw err;
      }
    }
    // Our own alerts are chained in-process; the alerts input is for alerts of other processors.
    const inputs = Object.values(o.inputs).filter(
      (t, i, all) => all.indexOf(t) === i && t !== o.outputs.alerts && t !== o.outputs.testAlerts,
    );
    const missing = inputs.filter((t) => !existing.has(t));
    if (missing.length) o.logger.warn({ missing }, 'input topics missing; not subscribed');
    return inputs.filter((t) => existing.has(t));
  } finally {
    await admin.disconnect();
  }
}

/** Runs until `signal` aborts. Transient failures restart the session (new producer, state rebuilt from
 * the changelog); a fencing error (another instance took the transactional id over) is fatal. */
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
      attempt++;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
      o.logger.warn(
        { err, attempt, delayMs: Math.round(delay) },
        'processor session failed; restarting from the committed state',
      );
      await sleep(delay, o.signal).catch(() => {});
    }
  }
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
  const inputs = await ensureOutputs(kafka, o);
  const transactionalId = o.transactionalId ?? `${o.groupId}-0`;
  let producer: Producer | null = kafka.producer({
    transactionalId,
    idempotent: true,
    maxInFlightRequests: 1,
    transactionTimeout: o.transactionTimeoutMs ?? 60_000,
    allowAutoTopicCreation: false,
  });
  let consumer: Consumer | null = null;
  const session = new AbortController();
  const onAbort = () => session.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await producer.connect();
    // InitProducerId fences the previous owner of the transactional id and aborts its open transaction,
    // before we read the changelog: nothing it wrote but did not commit can show up afterwards.
    const init = await producer.transaction();
    await init.abort();

    const store = createStore();
    const restored = await restoreChangelog(kafka, o.outputs.changelog, store, signal);
    const engine = createEngine({
      rules: o.rules,
      identity: o.identity,
      store,
      allowedLateness: o.allowedLateness,
      alertsTopic: o.outputs.alerts,
      logger,
    });
    engine.restored();
    let pendingList: Watchlist | null = o.watchlistFiles?.length
      ? await loadWatchlist(o.watchlistFiles)
      : null;
    if (o.watchlistFiles?.length) {
      watchWatchlistFiles(o.watchlistFiles, pendingList ?? EMPTY_WATCHLIST, (list) => (pendingList = list), {
        signal: session.signal,
        logger,
        ...(o.watchlistPollMs ? { intervalMs: o.watchlistPollMs } : {}),
      });
    }

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
    });
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) =>
      logger.info({ assigned: payload.memberAssignment }, 'group joined'),
    );
    await consumer.connect();
    await consumer.subscribe({ topics: inputs, fromBeginning: true });
    logger.info({ restored, stateKeys: store.size(), inputs, transactionalId }, 'processor ready');

    let failed: unknown = null;
    let batches = 0;
    const p = producer;
    // eachBatch and the idle watchlist tick both mutate the engine: one at a time.
    let lock: Promise<unknown> = Promise.resolve();
    const exclusive = <T>(fn: () => Promise<T>): Promise<T> => {
      const run = lock.then(fn, fn);
      lock = run.catch(() => {});
      return run;
    };
    /** Alerts + changed state (+ the batch's offsets) in one transaction. */
    const commit = async (
      alerts: Emitted[],
      offsets: { topic: string; partition: number; next: string } | null,
    ) => {
      const out = [
        ...alertMessages(alerts, o.outputs),
        ...changelogMessages(store.takeChanges(), engine.serialize).map((m) => ({
          topic: o.outputs.changelog,
          m,
        })),
      ];
      if (out.length === 0 && !offsets) return;
      const tx = await p.transaction();
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
          { alerts: alerts.map((a) => `${a.alert.ruleId} ${a.alert.alertId}`) },
          'alerts committed',
        );
    };
    // Event-time alignment of the inputs (see input-clock.ts): partitions that ran ahead are paused here
    // and resumed once the others caught up, or once those went quiet (checked on a timer too).
    const clock = createInputClock({
      maxSkewMs: o.maxSkew !== undefined ? ms(o.maxSkew) : ms(o.allowedLateness ?? '1h') / 2,
      // Several fetches (maxWaitTimeInMs below) without a batch: the partition is empty or quiet.
      idleMs: 3_000,
    });
    const paused = new Map<string, { topic: string; partition: number }>();
    const resumeUnblocked = () => {
      for (const tp of clock.release(Date.now())) {
        const at = paused.get(tp);
        if (!at) continue;
        paused.delete(tp);
        consumer!.resume([{ topic: at.topic, partitions: [at.partition] }]);
      }
    };
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      // A new assignment: what the clock knew may be about partitions we no longer own.
      clock.reset(
        Object.entries(payload.memberAssignment)
          .filter(([topic]) => topic !== o.inputs.watchlist)
          .flatMap(([topic, partitions]) => partitions.map((p) => `${topic}:${p}`)),
        Date.now(),
      );
      for (const { topic, partition } of paused.values())
        consumer!.resume([{ topic, partitions: [partition] }]);
      paused.clear();
    });
    const applyWatchlist = (): Emitted[] => {
      if (!pendingList) return [];
      const list = pendingList;
      pendingList = null;
      return engine.setWatchlist(list);
    };

    await new Promise<void>((resolve, reject) => {
      const fail = (err: unknown) => {
        failed ??= err;
        reject(err);
      };
      session.signal.addEventListener('abort', () => resolve(), { once: true });
      // A changed watchlist re-screens even when no input arrives.
      const tick = setInterval(() => {
        if (!pendingList || failed || session.signal.aborted) return;
        exclusive(() => commit(applyWatchlist(), null)).catch(fail);
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
              if (failed || !isRunning() || isStale() || batch.messages.length === 0) return;
              try {
                const tp = `${batch.topic}:${batch.partition}`;
                // Watchlist records are reference data stamped with wall-clock time: never held back.
                const aligned = batch.topic !== o.inputs.watchlist;
                const bound = aligned ? clock.bound(tp, Date.now()) : Number.POSITIVE_INFINITY;
                const alerts: Emitted[] = applyWatchlist();
                const late0 = engine.stats().late;
                let skipped = 0;
                let records = 0;
                let last: string | null = null;
                let head = Number.NaN;
                let ahead = false;
                for (const m of batch.messages) {
                  const d = decodeMessage(
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
                    if (d.reason !== 'retract')
                      logger.debug(
                        { topic: batch.topic, offset: m.offset, reason: d.reason },
                        'input record skipped',
                      );
                    continue;
                  }
                  head = d.event.time;
                  alerts.push(...engine.process(d.event));
                }
                await commit(
                  alerts,
                  last === null
                    ? null
                    : { topic: batch.topic, partition: batch.partition, next: String(BigInt(last) + 1n) },
                );
                if (last !== null) resolveOffset(last);
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
                await heartbeat();
                batches++;
                onHealthy();
                o.onCommit?.({
                  topic: batch.topic,
                  partition: batch.partition,
                  records,
                  alerts: alerts.length,
                  late: engine.stats().late - late0,
                });
                if (skipped) logger.debug({ skipped }, 'records skipped');
                if (batches % 100 === 0) logger.info({ batches, ...engine.stats() }, 'progress');
              } catch (err) {
                fail(err);
              }
            }),
        })
        .catch(fail);
    });
  } finally {
    signal.removeEventListener('abort', onAbort);
    session.abort();
    await consumer?.disconnect().catch(() => {});
    await producer?.disconnect().catch(() => {});
    producer = null;
  }
}

/** The coordinator is still completing the previous transaction (error 51): retry the request. */
function isConcurrentTransactions(err: unknown): boolean {
  return (err as { type?: unknown } | null)?.type === 'CONCURRENT_TRANSACTIONS';
}
