// One source task, exactly once: records and the source offset after them commit in one Kafka
// transaction. Batches are sent into the open transaction as the source yields them; at the boundary
// (maxRecords or maxMs) the offsets are added and the transaction commits. On any failure the task is restarted from the committed offsets, never from memory: an
// ambiguous commit (request sent, answer lost) may or may not have landed, and only the offsets topic
// knows which.
import type { JsonValue, Logger, SourceBatch, SourceRecord } from '@tributary/sdk';
import { DEAD_LETTER_REASON_HEADER, FatalError, RetryableError } from '@tributary/sdk';
import { TOPICS } from '@tributary/schemas';
import type { KafkaClient, OutRecord, TransactionalSession } from './kafka/client.ts';
import { isFencingError } from './kafka/errors.ts';
import type { Metrics } from './metrics.ts';
import { offsetRecord, readConnectorOffsets } from './offset-store.ts';
import type { AnySource } from './registry.ts';

export interface TaskRun {
  connector: string;
  taskId: number;
  transactionalId: string;
  source: AnySource;
  taskConfig: unknown;
  batch: { maxRecords: number; maxMs: number };
  offsetsTopic: string;
  transactionTimeoutMs: number;
  topicName: (logical: string) => string;
  kafka: KafkaClient;
  logger: Logger;
  metrics: Metrics;
  signal: AbortSignal;
  /** Called after each commit with the partitions' new offsets and the dead letters it committed. */
  onCommit?: (
    offsets: Map<string, JsonValue>,
    records: number,
    commitMs: number,
    deadLetters: readonly DeadLetterSeen[],
  ) => void;
  /** Called once the task has fenced and read its offsets. */
  onRunning?: () => void;
}

/** A dead letter as the worker saw it in a committed transaction (the payload stays in Kafka). */
export interface DeadLetterSeen {
  reason: string;
  error: string;
  sourceRef: string;
  at: string;
}

/** Observer of every commit of every task of a worker (benchmarks, the dashboard). */
export type CommitObserver = (
  connector: string,
  taskId: number,
  records: number,
  commitMs: number,
  deadLetters: readonly DeadLetterSeen[],
) => void;

function deadLetterSeen(r: SourceRecord): DeadLetterSeen {
  const v = (
    r.value !== null && typeof r.value === 'object' && !(r.value instanceof Uint8Array) ? r.value : {}
  ) as Record<string, unknown>;
  const text = (x: unknown) => (typeof x === 'string' ? x : '');
  return {
    reason: r.headers?.[DEAD_LETTER_REASON_HEADER] ?? (text(v.reason) || 'unknown'),
    error: text(v.error),
    sourceRef: text(v.sourceRef),
    at: text(v.at) || new Date(r.timestamp).toISOString(),
  };
}

/** Fencing ends this task for good: another instance owns it now. */
export class FencedError extends FatalError {
  override name = 'FatalError';
}

const TIMEOUT = Symbol('timeout');
const ABORTED = Symbol('aborted');

/**
 * The next batch, or TIMEOUT after `waitMs`, or ABORTED. Every call makes its own timer and abort listener
 * and removes them: racing against one long-lived promise instead would attach a reaction to it on every
 * call, each holding that call's batch, and leak memory at the rate records flow.
 */
function nextOrStop<T>(
  next: Promise<T>,
  signal: AbortSignal,
  waitMs: number | null,
): Promise<T | typeof TIMEOUT | typeof ABORTED> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const timer = waitMs === null ? undefined : setTimeout(() => done(TIMEOUT), waitMs);
    const onAbort = () => done(ABORTED);
    const done = (v: T | typeof TIMEOUT | typeof ABORTED) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    next.then(done, (err: unknown) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

/** A produce request's worth of pending records (by bytes or count), sent while the next batches are read. */
const SEND_BYTES = 256 * 1024;
const SEND_RECORDS = 2_000;

function serialize(r: SourceRecord, topicName: (l: string) => string): OutRecord {
  const v = r.value;
  const value =
    v === null
      ? null
      : v instanceof Uint8Array
        ? Buffer.from(v.buffer, v.byteOffset, v.byteLength)
        : Buffer.from(JSON.stringify(v));
  const out: OutRecord = { topic: topicName(r.topic), key: r.key, value, timestamp: r.timestamp };
  if (r.headers) out.headers = r.headers;
  return out;
}

export async function runTask(t: TaskRun): Promise<'finished' | 'stopped'> {
  const labels = { connector: t.connector, task: String(t.taskId) };
  const log = t.logger;
  let session: TransactionalSession | null = null;
  try {
    session = await t.kafka.transactionalSession(t.transactionalId);
    const offsets = await readConnectorOffsets(t.kafka, session, t.offsetsTopic, t.connector, t.signal);
    log.info({ offsets: Object.fromEntries(offsets) }, 'task started from committed offsets');
    t.onRunning?.();

    const committedListeners = new Set<(offsets: ReadonlyMap<string, JsonValue>) => void>();
    const taskAbort = new AbortController();
    const onAbort = () => taskAbort.abort(t.signal.reason);
    t.signal.addEventListener('abort', onAbort, { once: true });
    const iterator = t.source
      .run({
        connector: t.connector,
        taskId: t.taskId,
        config: t.taskConfig,
        offsets,
        signal: taskAbort.signal,
        logger: log,
        metrics: {
          lag: (partition, value) => t.metrics.lag.set({ connector: t.connector, partition }, value),
          skipped: (reason) => t.metrics.skipped.inc({ ...labels, reason }),
        },
        onCommitted: (listener) => {
          committedListeners.add(listener);
          return () => committedListeners.delete(listener);
        },
      })
      [Symbol.asyncIterator]();

    // The open transaction: records already sent into it, and the offsets they advance to.
    let txRecords = 0;
    let txBytes = 0;
    let txStartedAt = 0;
    let txOffsets = new Map<string, JsonValue>();
    let txPerTopic = new Map<string, number>();
    let txDeadLetters: DeadLetterSeen[] = [];

    const fail = (err: unknown, elapsed: number): never => {
      if (isFencingError(err)) {
        // The coordinator also bumps the epoch of a transaction that outlived its timeout; that is our own
        // slowness, not another owner, and deserves a restart rather than a stop.
        if (elapsed >= t.transactionTimeoutMs)
          throw new RetryableError(`transaction exceeded transactionTimeoutMs (${Math.round(elapsed)} ms)`, {
            cause: err,
          });
        throw new FencedError(`fenced: another worker now runs ${t.transactionalId}; this instance stops`, {
          cause: err,
        });
      }
      throw new RetryableError(`transaction failed: ${(err as Error).message}`, { cause: err });
    };

    // Records wait in `pending` until a produce request's worth has gathered, then go out while the loop
    // pulls the next batches: one request in flight at a time (kafkajs' idempotent producer keeps order
    // only that way), awaited before the next one and before the commit. A block of an Ethereum backfill
    // is ~100 records; a request per block spent most of the task's time waiting on acks.
    let pending: OutRecord[] = [];
    let pendingBytes = 0;
    let inflight: Promise<void> | null = null;

    const settle = async () => {
      if (!inflight) return;
      const sending = inflight;
      inflight = null;
      try {
        await sending;
      } catch (err) {
        fail(err, performance.now() - txStartedAt);
      }
    };

    const flush = async () => {
      await settle();
      if (pending.length === 0) return;
      const out = pending;
      pending = [];
      pendingBytes = 0;
      inflight = session!.send(out);
      // Rejections are handled by settle(); this only keeps an early one from being "unhandled".
      inflight.catch(() => {});
    };

    const send = async (batch: SourceBatch) => {
      if (txOffsets.size === 0) txStartedAt = performance.now();
      for (const r of batch.records) {
        const rec = serialize(r, t.topicName);
        pending.push(rec);
        const size = (rec.key?.length ?? 0) + (rec.value?.length ?? 0);
        txBytes += size;
        pendingBytes += size;
        txPerTopic.set(r.topic, (txPerTopic.get(r.topic) ?? 0) + 1);
        if (r.topic === TOPICS.deadLetters.name) {
          t.metrics.deadLetters.inc({
            ...labels,
            reason: r.headers?.[DEAD_LETTER_REASON_HEADER] ?? 'unknown',
          });
          if (t.onCommit) txDeadLetters.push(deadLetterSeen(r));
        }
      }
      txRecords += batch.records.length;
      txOffsets.set(batch.partition, batch.offset);
      if (pendingBytes >= SEND_BYTES || pending.length >= SEND_RECORDS) await flush();
    };

    const commit = async () => {
      if (txOffsets.size === 0) return;
      const started = performance.now();
      await settle();
      try {
        // The rest of the records and the offsets after them go in one request, then the commit.
        const out = pending;
        pending = [];
        pendingBytes = 0;
        for (const [partition, offset] of txOffsets)
          out.push(offsetRecord(t.offsetsTopic, t.connector, partition, offset, t.taskId));
        await session!.send(out);
        await session!.commit();
      } catch (err) {
        fail(err, performance.now() - txStartedAt);
      }
      const commitMs = performance.now() - started;
      t.metrics.commitSeconds.observe(labels, commitMs / 1000);
      t.metrics.batches.inc(labels);
      t.metrics.bytes.inc(labels, txBytes);
      for (const [topic, n] of txPerTopic) t.metrics.records.inc({ ...labels, topic }, n);
      t.onCommit?.(txOffsets, txRecords, commitMs, txDeadLetters);
      for (const listener of committedListeners) {
        try {
          listener(txOffsets);
        } catch (err) {
          log.warn({ err }, 'commit listener failed');
        }
      }
      txRecords = 0;
      txBytes = 0;
      txOffsets = new Map();
      txPerTopic = new Map();
      txDeadLetters = [];
    };

    let next = iterator.next();
    try {
      for (;;) {
        const wait = txOffsets.size ? Math.max(0, txStartedAt + t.batch.maxMs - performance.now()) : null;
        const r = await nextOrStop(next, t.signal, wait);
        if (r === TIMEOUT) {
          await commit();
          continue;
        }
        if (r === ABORTED) {
          // Graceful stop: what the source already handed over is committed, then we close.
          await commit();
          return 'stopped';
        }
        if (r.done) {
          await commit();
          return 'finished';
        }
        // Ask for the next batch first: the source fetches while Kafka writes.
        next = iterator.next();
        await send(r.value);
        if (txRecords >= t.batch.maxRecords) await commit();
      }
    } finally {
      t.signal.removeEventListener('abort', onAbort);
      taskAbort.abort(new Error('task ended'));
      next.catch(() => {});
      // Don't await a source stuck in I/O forever.
      await Promise.race([
        iterator.return?.(undefined).catch(() => {}),
        new Promise((r) => setTimeout(r, 2_000).unref()),
      ]);
    }
  } catch (err) {
    if (err instanceof FatalError || err instanceof RetryableError) throw err;
    if (isFencingError(err))
      throw new FencedError(`fenced: another worker now runs ${t.transactionalId}; this instance stops`, {
        cause: err,
      });
    throw err;
  } finally {
    await session?.close();
  }
}
