// End-to-end latency of exchange trades: from the venue's trade timestamp to the Kafka commit of the
// transaction that holds the trade. A source wrapper notes the venue time of every trade it hands to the
// runtime and, through the runtime's `onCommitted` listener, learns which offsets (last trade id per
// symbol) each transaction committed: every trade at or below that id is durable at that moment.
import type { JsonValue, SourceBatch } from '@tributary/sdk';
import type { ResolvedConnector } from '@tributary/runtime';

/** 1 ms buckets up to a minute, the rest in the last bucket: fixed memory however long the run. */
const BUCKETS = 60_001;

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface Histogram {
  add(ms: number): void;
  summary(): LatencySummary;
  reset(): void;
}

export function histogram(): Histogram {
  let counts = new Uint32Array(BUCKETS);
  let count = 0;
  let sum = 0;
  let max = 0;
  const quantile = (q: number) => {
    if (count === 0) return 0;
    const rank = Math.ceil(q * count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += counts[i]!;
      if (seen >= rank) return i;
    }
    return BUCKETS - 1;
  };
  return {
    add(ms) {
      const b = Math.min(BUCKETS - 1, Math.max(0, Math.round(ms)));
      counts[b]!++;
      count++;
      sum += ms;
      if (ms > max) max = ms;
    },
    summary: () => ({
      count,
      p50: quantile(0.5),
      p90: quantile(0.9),
      p99: quantile(0.99),
      max,
      mean: count ? sum / count : 0,
    }),
    reset() {
      counts = new Uint32Array(BUCKETS);
      count = 0;
      sum = 0;
      max = 0;
    },
  };
}

export interface CommitObserver {
  /** Trades committed so far (all tasks). */
  trades: number;
  /** Transactions committed so far. */
  commits: number;
  /** Batches the sources yielded so far (each is one produce call of the runtime). */
  batches: number;
  latency: Histogram;
  /** Last committed trade id per `<connector type>:<source partition>` (the benchmark paces the
   * simulators with it). */
  committed: Map<string, number>;
}

/** Trades handed to the runtime and not yet committed, per source partition (symbol), in yield order. */
type Pending = { lastId: bigint; times: number[] }[];

function lastTradeId(offset: JsonValue | undefined): bigint | null {
  if (offset === null || typeof offset !== 'object' || Array.isArray(offset)) return null;
  const id = offset['lastTradeId'];
  return typeof id === 'string' ? BigInt(id) : null;
}

/** Wraps a connector's source so that commits of its trades are timed. Records pass through unchanged. */
export function observeCommits(c: ResolvedConnector, obs: CommitObserver): ResolvedConnector {
  const inner = c.source;
  return {
    ...c,
    source: {
      ...inner,
      async *run(ctx): AsyncGenerator<SourceBatch> {
        const pending = new Map<string, Pending>();
        const off = ctx.onCommitted?.((offsets) => {
          const now = Date.now();
          obs.commits++;
          for (const [partition, offset] of offsets) {
            const upTo = lastTradeId(offset);
            const queue = pending.get(partition);
            if (upTo === null) continue;
            obs.committed.set(`${inner.type}:${partition}`, Number(upTo));
            if (!queue) continue;
            let done = 0;
            while (done < queue.length && queue[done]!.lastId <= upTo) {
              for (const t of queue[done]!.times) obs.latency.add(now - t);
              obs.trades += queue[done]!.times.length;
              done++;
            }
            queue.splice(0, done);
          }
        });
        if (!off) throw new Error('the runtime did not offer onCommitted; latency cannot be measured');
        try {
          for await (const batch of inner.run(ctx)) {
            obs.batches++;
            const id = lastTradeId(batch.offset);
            const times: number[] = [];
            for (const r of batch.records) if (r.topic === 'exchange.trades') times.push(r.timestamp);
            if (id !== null && times.length > 0) {
              let queue = pending.get(batch.partition);
              if (!queue) pending.set(batch.partition, (queue = []));
              queue.push({ lastId: id, times });
            }
            yield batch;
          }
        } finally {
          off();
        }
      },
    },
  };
}
