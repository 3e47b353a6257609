// One benchmark run: both venue simulators in this process, the worker in its own (so its CPU and RSS are
// its own), a warm-up, a measured window, a clean stop, then the trades topic read back and checked.
import { fork } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import {
  deleteTopics,
  startBinanceSimulator,
  startCoinbaseSimulator,
  type SimMarket,
  type VenueSimulator,
} from '@tributary/testkit';
import type { LatencySummary } from './commit-latency.ts';
import type { WorkerSpec } from './exchange-worker.ts';
import { verifyTrades, type TradeCheck } from './verify-trades.ts';
import { linkWorker } from './worker-link.ts';

export interface RunContext {
  brokers: string[];
  binanceMarkets: SimMarket[];
  coinbaseMarkets: SimMarket[];
  /** Markets per venue (included above) that never trade: an illiquid pair next to busy ones, whose
   * follower waits the whole run (a merge that retained per pending call would leak here). */
  quiet: Set<string>;
  /** Max-rate phase: trades per symbol the simulators may run ahead of the worker's last commit. */
  maxInflight: number;
  /** Max-rate phase: trades per symbol per 10 ms simulator tick at most. */
  maxPerTick: number;
  batch: { maxRecords: number; maxMs: number };
  sourceBatch: number;
  tasksMax: number;
  /** Node flags of the worker process (tsx loader first). */
  execArgv: string[];
}

export interface Phase {
  name: string;
  run: number;
  runs: number;
  /** Trades/s in total over all symbols; 0 = the simulators' maximum. */
  rate: number;
  warmupSec: number;
  windowSec: number;
  /** RSS sample interval (the soak); none otherwise. */
  sampleSec?: number;
}

export interface RssSample {
  atSec: number;
  /** RSS at the sample moment. */
  rssMb: number;
  /** Of the worker's once-a-second readings since the previous sample: mean, floor and peak. The floor
   * (right after a collection) is what a leak raises; the peaks follow the GC sawtooth. */
  rssMeanMb: number;
  rssMinMb: number;
  rssMaxMb: number;
  heapUsedMb: number;
  heapUsedMinMb: number;
  /** V8 heap reserved and memory outside the heap (Buffers), at the sample moment. */
  heapTotalMb: number;
  externalMb: number;
}

export interface RunResult {
  phase: string;
  run: number;
  /** Offered rate: trades/s in total, 0 = the simulators' maximum. */
  offeredRate: number;
  windowSec: number;
  trades: number;
  tradesPerSec: number;
  commits: number;
  /** Source batches yielded in the window (the runtime sends each as one produce request). */
  batches: number;
  /** Worker CPU over the window, % of one core. */
  workerCpuPct: number;
  /** Worker CPU time per committed trade, microseconds (steadier under machine load than trades/s). */
  workerCpuUsPerTrade: number;
  /** This process's CPU (both simulators and the orchestration) over the window, % of one core. */
  simulatorCpuPct: number;
  /** Venue trade timestamp -> Kafka commit of the transaction holding the trade. */
  latencyMs: LatencySummary;
  /** The runtime's commit step (offsets + EndTxn) per transaction: Kafka's share of the latency. */
  commitMs: LatencySummary;
  /** Worker RSS at the end of the window. */
  rssMb: number;
  rssSamples: RssSample[];
  /** REST trade requests the simulators answered (start backfill, gaps, idle checks). */
  restTradeCalls: number;
  taskRestarts: number;
  /** The sources' skip counters (gaps seen and backfilled, rate limits...), whole run. */
  skipped: Record<string, number>;
  exactlyOnce: TradeCheck & { ok: boolean; problems: string[] };
  loadavgStart: number[];
  loadavgEnd: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const mb = (bytes: number) => bytes / 1024 / 1024;
export const loadavg = () => os.loadavg().map((l) => Number(l.toFixed(2)));
export const progress = (line: string) => process.stderr.write(`${line}\n`);
const unified = (m: SimMarket) => `${m.base}/${m.quote}`;

export async function runOnce(ctx: RunContext, p: Phase): Promise<RunResult> {
  const label = `[${p.name} ${p.run}/${p.runs}]`;
  const loadavgStart = loadavg();
  const busyCount = [...ctx.binanceMarkets, ...ctx.coinbaseMarkets].filter(
    (m) => !ctx.quiet.has(m.id),
  ).length;
  // Max rate is a closed loop: a symbol may run `maxInflight` trades ahead of the worker's last commit.
  // (An open-loop flood only shows how a worker drowns: ccxt's caches overflow, every symbol falls back
  // to REST, and the rate measured is the recovery path's.)
  const committed = new Map<string, number>();
  const sims: VenueSimulator[] = [];
  const closed = p.rate === 0;
  const allowance = (i: number, venue: string, markets: SimMarket[]) => (symbol: string) => {
    if (ctx.quiet.has(symbol)) return 0;
    if (!closed) return Number.POSITIVE_INFINITY;
    const m = markets.find((x) => x.id === symbol)!;
    const ahead = sims[i]!.generator.range(symbol).last - (committed.get(`${venue}:${unified(m)}`) ?? 0);
    return Math.max(0, ctx.maxInflight - ahead);
  };
  const common = {
    ratePerSec: p.rate / busyCount,
    // REST needs history only for the gaps a stalled consumer leaves; bounded keeps the simulator's own
    // memory and GC small.
    retain: 50_000,
    maxPerTick: ctx.maxPerTick,
  };
  sims.push(
    await startBinanceSimulator({
      markets: ctx.binanceMarkets,
      ...common,
      allowance: allowance(0, 'binance', ctx.binanceMarkets),
    }),
    await startCoinbaseSimulator({
      markets: ctx.coinbaseMarkets,
      ...common,
      allowance: allowance(1, 'coinbase', ctx.coinbaseMarkets),
    }),
  );
  const [binance, coinbase] = sims as [VenueSimulator, VenueSimulator];
  const id = `bx${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;
  const spec: WorkerSpec = {
    brokers: ctx.brokers,
    id,
    partitions: 6,
    binance: {
      restUrl: binance.restUrl,
      wsUrl: binance.wsUrl,
      symbols: ctx.binanceMarkets.map(unified),
    },
    coinbase: {
      restUrl: coinbase.restUrl,
      wsUrl: coinbase.wsUrl,
      symbols: ctx.coinbaseMarkets.map(unified),
    },
    batch: ctx.batch,
    sourceBatch: ctx.sourceBatch,
    tasksMax: ctx.tasksMax,
    reportCommitted: closed,
  };
  let simsOpen = true;
  const closeSims = async () => {
    if (!simsOpen) return;
    simsOpen = false;
    for (const s of sims) await s.close();
  };
  const worker = linkWorker(
    fork(join(import.meta.dirname, 'exchange-worker.ts'), [JSON.stringify(spec)], {
      execArgv: ctx.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
    committed,
  );
  try {
    await worker.next('ready', 60_000);
    for (const s of sims) s.start();
    await worker.next('tick', 60_000, (t) => t.trades > 0);
    progress(`${label} worker running; warming up ${p.warmupSec} s`);
    await sleep(p.warmupSec * 1000);
    worker.send({ type: 'mark' });
    await worker.next('window', 10_000);
    const simCpuAtStart = process.cpuUsage();

    const samples: RssSample[] = [];
    const started = performance.now();
    const sample = () => {
      const t = worker.lastTick()!;
      const m = worker.takeInterval();
      samples.push({
        atSec: Math.round((performance.now() - started) / 1000),
        rssMb: mb(t.rss),
        rssMeanMb: mb(m.rssMean),
        rssMinMb: mb(m.rssMin),
        rssMaxMb: mb(m.rssMax),
        heapUsedMb: mb(t.heapUsed),
        heapUsedMinMb: mb(m.heapMin),
        heapTotalMb: mb(t.heapTotal),
        externalMb: mb(t.external),
      });
    };
    if (p.sampleSec) sample();
    let last = { trades: worker.lastTick()!.trades, at: performance.now() };
    const reportEvery = p.windowSec > 120 ? 30 : 5;
    for (let sec = 1; sec <= p.windowSec; sec++) {
      await sleep(started + sec * 1000 - performance.now());
      const failed = worker.error();
      if (failed) throw new Error(`worker failed: ${failed}`);
      if (p.sampleSec && sec % p.sampleSec === 0) sample();
      if (sec % reportEvery === 0 || sec === p.windowSec) {
        const t = worker.lastTick()!;
        const now = { trades: t.trades, at: performance.now() };
        const rate = ((now.trades - last.trades) / (now.at - last.at)) * 1000;
        progress(
          `${label} ${sec}/${p.windowSec} s  ${Math.round(rate).toLocaleString('en-US')} trades/s  ` +
            `RSS ${mb(t.rss).toFixed(0)} MB  load ${loadavg().join(' ')}`,
        );
        last = now;
      }
    }
    worker.send({ type: 'mark' });
    const w = await worker.next('window', 10_000);
    const simCpu = process.cpuUsage(simCpuAtStart);
    const rssMb = mb(worker.lastTick()!.rss);
    worker.send({ type: 'stop' });
    const stopped = await worker.next('stopped', 60_000);
    await worker.exited;
    await closeSims();
    const restTradeCalls = sims.reduce((n, s) => n + s.stats.tradeQueries.length, 0);

    progress(`${label} reading the trades topic back (read_committed)...`);
    const check = await verifyTrades(ctx.brokers, `${id}.exchange.trades`);
    const problems: string[] = [];
    if (check.duplicates) problems.push(`${check.duplicates} duplicates`);
    if (check.missing) problems.push(`${check.missing} missing ids`);
    if (check.invalid) problems.push(`${check.invalid} records off the exchange.trades schema`);
    // The committed offset of each symbol must name exactly the trades the topic holds: ids 1..offset.
    const offsets = new Map<string, number>();
    for (const [task, byPartition] of Object.entries(stopped.offsets)) {
      const venue = task.startsWith('binance') ? 'binance' : 'coinbase';
      const markets = venue === 'binance' ? ctx.binanceMarkets : ctx.coinbaseMarkets;
      for (const [symbol, o] of Object.entries(byPartition)) {
        const m = markets.find((x) => unified(x) === symbol)!;
        offsets.set(`${venue}:${m.id}`, Number((o as { lastTradeId: string }).lastTradeId));
      }
    }
    for (const [key, lastId] of offsets) {
      const k = check.keys[key];
      if (!k || k.lastId !== lastId || k.count !== lastId)
        problems.push(
          `${key}: committed offset ${lastId}, topic holds ${k?.count ?? 0} up to id ${k?.lastId ?? 0}`,
        );
    }
    if (offsets.size !== busyCount) problems.push(`offsets for ${offsets.size} of ${busyCount} busy symbols`);
    for (const id of ctx.quiet)
      if (check.keys[`binance:${id}`] || check.keys[`coinbase:${id}`])
        problems.push(`${id} never traded, yet the topic holds trades for it`);
    progress(
      `${label} commit step p50 ${w.commitMs.p50} ms, p99 ${w.commitMs.p99} ms; ` +
        `${(w.trades / Math.max(1, w.batches)).toFixed(1)} trades per source batch, ` +
        `${(w.trades / Math.max(1, w.commits)).toFixed(0)} per transaction; ` +
        `skips ${JSON.stringify(stopped.skipped)}, REST trade calls ${restTradeCalls}, ` +
        `task restarts ${stopped.restarts}`,
    );
    progress(
      `${label} ${check.records.toLocaleString('en-US')} trades read back in ${(check.ms / 1000).toFixed(1)} s: ` +
        (problems.length ? `PROBLEMS ${problems.join('; ')}` : 'each symbol ids 1..n exactly once, in order'),
    );
    await deleteTopics(ctx.brokers, `${id}.`).catch((err: unknown) =>
      progress(`${label} deleting the run's topics failed: ${String(err)}`),
    );

    return {
      phase: p.name,
      run: p.run,
      offeredRate: p.rate,
      windowSec: w.ms / 1000,
      trades: w.trades,
      tradesPerSec: w.trades / (w.ms / 1000),
      commits: w.commits,
      batches: w.batches,
      workerCpuPct: (w.cpuMs / w.ms) * 100,
      workerCpuUsPerTrade: (w.cpuMs * 1000) / Math.max(1, w.trades),
      simulatorCpuPct: ((simCpu.user + simCpu.system) / 1000 / w.ms) * 100,
      latencyMs: w.latency,
      commitMs: w.commitMs,
      rssMb,
      rssSamples: samples,
      restTradeCalls,
      taskRestarts: stopped.restarts,
      skipped: stopped.skipped,
      exactlyOnce: { ...check, ok: problems.length === 0, problems },
      loadavgStart,
      loadavgEnd: loadavg(),
    };
  } finally {
    if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    await closeSims().catch(() => {});
  }
}
