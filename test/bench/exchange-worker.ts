// The benchmark's worker process: the real runtime (transactional producer per task, offsets in the same
// transaction) running the real binance and coinbase connectors against the simulators the parent runs.
// It talks to the parent over IPC: a `tick` every second (trades committed so far, memory, CPU), a
// `window` summary whenever asked to `mark`, and its final offsets when asked to `stop`.
import { join } from 'node:path';
import type { JsonValue } from '@tributary/sdk';
import { createLogger, createMetrics, parseConfig, resolveConnectors, startWorker } from '@tributary/runtime';
import { histogram, observeCommits, type CommitObserver, type LatencySummary } from './commit-latency.ts';

export interface VenueSpec {
  restUrl: string;
  wsUrl: string;
  symbols: string[];
}

export interface WorkerSpec {
  brokers: string[];
  /** Unique per run: transactional id prefix and topic prefix. */
  id: string;
  partitions: number;
  binance: VenueSpec;
  coinbase: VenueSpec;
  batch: { maxRecords: number; maxMs: number };
  /** Trades per yielded source batch (`batchSize` of the trade sources). */
  sourceBatch: number;
  tasksMax: number;
  /** Send commit progress every 20 ms (the max-rate phase paces the simulators with it). */
  reportCommitted: boolean;
}

export type ToWorker = { type: 'mark' } | { type: 'stop' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'committed'; ids: Record<string, number> }
  | {
      type: 'tick';
      trades: number;
      commits: number;
      rss: number;
      heapUsed: number;
      /** V8 heap reserved (used or not) and memory outside it (Buffers): where RSS beyond the heap goes. */
      heapTotal: number;
      external: number;
      cpuMs: number;
    }
  | {
      type: 'window';
      trades: number;
      commits: number;
      batches: number;
      ms: number;
      cpuMs: number;
      latency: LatencySummary;
      /** Time of the runtime's commit step (offsets write + EndTxn), per transaction. */
      commitMs: LatencySummary;
    }
  | {
      type: 'stopped';
      offsets: Record<string, Record<string, JsonValue>>;
      restarts: number;
      /** The sources' skip counters by reason (gaps seen, rate limits...), whole run. */
      skipped: Record<string, number>;
    }
  | { type: 'error'; message: string };

const send = (m: FromWorker) => process.send!(m);

async function main(spec: WorkerSpec) {
  const common = { startFrom: { afterId: '0' }, batchSize: spec.sourceBatch };
  const cfg = parseConfig({
    kafka: { brokers: spec.brokers, transactionalIdPrefix: spec.id },
    topics: { prefix: `${spec.id}.`, offsetsTopic: `${spec.id}.offsets`, partitions: spec.partitions },
    worker: { http: false },
    connectors: (['binance', 'coinbase'] as const).map((type) => ({
      name: `${type}-${spec.id}`,
      type,
      tasksMax: spec.tasksMax,
      batch: spec.batch,
      config: { ...spec[type], ...common },
    })),
  });
  const obs: CommitObserver = {
    trades: 0,
    commits: 0,
    batches: 0,
    latency: histogram(),
    committed: new Map(),
  };
  const connectors = (await resolveConnectors(cfg, join(import.meta.dirname, '..', 'package.json'))).map(
    (c) => observeCommits(c, obs),
  );
  const ac = new AbortController();
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' });
  const metrics = createMetrics();
  const commitTimes = histogram();
  const worker = startWorker({
    config: cfg,
    connectors,
    logger,
    metrics,
    signal: ac.signal,
    onCommit: (_connector, _task, _records, ms) => commitTimes.add(ms),
  });
  worker.done.catch((err: unknown) => send({ type: 'error', message: String(err) }));

  const cpuMs = () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  };
  let mark = { at: performance.now(), trades: 0, commits: 0, batches: 0, cpu: cpuMs() };
  const ticker = setInterval(() => {
    const m = process.memoryUsage();
    send({
      type: 'tick',
      trades: obs.trades,
      commits: obs.commits,
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      cpuMs: cpuMs(),
    });
  }, 1_000);
  // Commit progress, often: the parent's simulators produce only as far ahead of it as they are allowed.
  let reported = -1;
  const progress = setInterval(() => {
    if (!spec.reportCommitted || obs.commits === reported) return;
    reported = obs.commits;
    send({ type: 'committed', ids: Object.fromEntries(obs.committed) });
  }, 20);
  send({ type: 'ready' });

  process.on('message', (msg: ToWorker) => {
    if (msg.type === 'mark') {
      const now = {
        at: performance.now(),
        trades: obs.trades,
        commits: obs.commits,
        batches: obs.batches,
        cpu: cpuMs(),
      };
      send({
        type: 'window',
        trades: now.trades - mark.trades,
        commits: now.commits - mark.commits,
        batches: now.batches - mark.batches,
        ms: now.at - mark.at,
        cpuMs: now.cpu - mark.cpu,
        latency: obs.latency.summary(),
        commitMs: commitTimes.summary(),
      });
      obs.latency.reset();
      commitTimes.reset();
      mark = now;
    } else if (msg.type === 'stop') {
      ac.abort(new Error('benchmark run over'));
      void worker.done.finally(async () => {
        clearInterval(ticker);
        const skipped: Record<string, number> = {};
        for (const v of (await metrics.skipped.get()).values) {
          const reason = String(v.labels['reason']);
          skipped[reason] = (skipped[reason] ?? 0) + v.value;
        }
        clearInterval(progress);
        const offsets: Record<string, Record<string, JsonValue>> = {};
        let restarts = 0;
        for (const t of worker.status()) {
          offsets[`${t.connector}/${t.taskId}`] = t.offsets;
          restarts += t.restarts;
        }
        // ccxt and kafkajs may leave timers behind; the run is over once the parent has the offsets.
        process.send!({ type: 'stopped', offsets, restarts, skipped } satisfies FromWorker, () =>
          process.exit(0),
        );
      });
    }
  });
}

await main(JSON.parse(process.argv[2]!) as WorkerSpec);
