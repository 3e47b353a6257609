// Benchmark of the exchange trade connectors (issue 6): the real binance and coinbase sources in one real
// worker process (exactly-once: a transactional producer per task, offsets in the same transaction)
// against the testkit venue simulators, several symbols on both venues. Three phases:
//   max    simulators at their maximum rate (closed loop, see run-once.ts): sustained trades/s
//   paced  1,000 trades/s in total: latency from the venue's trade timestamp to the Kafka commit
//   soak   a steady rate for 10 minutes: the worker's RSS every 30 s, which must stay flat
// Every run's trades topic is read back with read_committed and checked: each symbol holds ids 1..n once,
// in order, n = its committed offset, every record on the schema. Prints a table; writes
// bench/results/exchanges.json.
//
//   npm run bench -w @tributary/e2e -- --help
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startKafka, type SimMarket } from '@tributary/testkit';
import { loadavg, runOnce, type RunContext, type RunResult } from './run-once.ts';
import { median, slope } from './stats.ts';

const HELP = `Exchange trades benchmark: binance + coinbase connectors -> Kafka (exactly-once), venue simulators.

Usage: npm run bench -w @tributary/e2e -- [options]
       (or: cd test && npx tsx bench/exchanges.ts [options])

Phases (--phases, comma-separated; default max,paced,soak):
  max     simulators at their maximum rate, closed loop: each symbol runs at most --max-inflight
          trades ahead of what the worker has committed (an open-loop flood only measures how the
          worker drowns); sustained trades/s over --window seconds after --warmup seconds
  paced   --paced-rate trades/s over all symbols: end-to-end latency p50/p99, from the venue's trade
          timestamp to the Kafka commit of the transaction holding the trade
  soak    --soak-rate trades/s for --soak-minutes: worker RSS every --soak-sample seconds; first,
          last and max RSS, and the slope over the second half of each interval's mean RSS
          (flat: at most --flat-mb-per-min), beside the slopes of the RSS and live-heap floors
max and paced report the median of --runs runs. Every run's topic is read back (read_committed)
and checked: each symbol holds trade ids 1..n exactly once, in order, n = its committed offset.

Options:
  --runs N              runs of max and of paced (default 3)
  --symbols N           trading symbols per venue, 1..8 (default 4); each venue also has one
                        symbol that never trades (XLM), as an illiquid pair would
  --warmup S            seconds before measuring (default 10)
  --window S            measured seconds per max/paced run (default 30)
  --max-inflight N      max: trades per symbol produced but not yet committed (default 1000)
  --max-per-tick N      max: trades per symbol per 10 ms simulator tick at most (default 100)
  --paced-rate R        trades/s of the paced phase, all symbols together (default 1000)
  --soak-rate R         trades/s of the soak, all symbols together (default 5000)
  --soak-minutes M      soak duration (default 10)
  --soak-sample S       RSS sample interval of the soak (default 30)
  --flat-mb-per-min X   largest RSS slope called flat (default 10; see README.md for why)
  --batch-records N     runtime batch.maxRecords per transaction (default 5000)
  --batch-ms MS         runtime batch.maxMs per transaction (default 100)
  --source-batch N      trades per yielded source batch, the sources' batchSize (default 500)
  --tasks-max N         tasks per connector (default 1)
  --cpu-prof DIR        run the worker with --cpu-prof, profiles written to DIR
  --worker-flags=F      extra node flags of the worker, space-separated
                        (e.g. --worker-flags="--max-semi-space-size=32")
  --out FILE            where to write the JSON (default bench/results/exchanges.json)
  --no-write            do not write the JSON
  --help                this text

Kafka: KAFKA_BROKERS if set, else a broker started from Maven Central (testkit startKafka).
Each run uses its own topics (prefix bx<id>.) and deletes them afterwards.`;

const BINANCE: SimMarket[] = ['BTC', 'ETH', 'SOL', 'BNB', 'XRP', 'ADA', 'DOGE', 'LTC'].map((b) => ({
  id: `${b}USDT`,
  base: b,
  quote: 'USDT',
}));
const COINBASE: SimMarket[] = ['BTC', 'ETH', 'SOL', 'LTC', 'ADA', 'DOGE', 'XRP', 'AVAX'].map((b) => ({
  id: `${b}-USD`,
  base: b,
  quote: 'USD',
}));

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    symbols: { type: 'string', default: '4' },
    warmup: { type: 'string', default: '10' },
    window: { type: 'string', default: '30' },
    'max-inflight': { type: 'string', default: '1000' },
    'max-per-tick': { type: 'string', default: '100' },
    'paced-rate': { type: 'string', default: '1000' },
    'soak-rate': { type: 'string', default: '5000' },
    'soak-minutes': { type: 'string', default: '10' },
    'soak-sample': { type: 'string', default: '30' },
    'flat-mb-per-min': { type: 'string', default: '10' },
    'batch-records': { type: 'string', default: '5000' },
    'batch-ms': { type: 'string', default: '100' },
    'source-batch': { type: 'string', default: '500' },
    'tasks-max': { type: 'string', default: '1' },
    phases: { type: 'string', default: 'max,paced,soak' },
    'cpu-prof': { type: 'string' },
    'worker-flags': { type: 'string', default: '' },
    out: { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (args.help) {
  console.log(HELP);
  process.exit(0);
}

function num(name: keyof typeof args, min: number, max = Number.POSITIVE_INFINITY): number {
  const v = Number(args[name]);
  if (!Number.isFinite(v) || v < min || v > max) {
    console.error(`--${name} must be a number in [${min}, ${max}], got ${String(args[name])}`);
    process.exit(2);
  }
  return v;
}

const settings = {
  runs: num('runs', 1),
  symbolsPerVenue: num('symbols', 1, 8),
  warmupSec: num('warmup', 0),
  windowSec: num('window', 1),
  maxInflight: num('max-inflight', 1),
  maxPerTick: num('max-per-tick', 1),
  pacedRate: num('paced-rate', 1),
  soakRate: num('soak-rate', 1),
  soakMinutes: num('soak-minutes', 0.1),
  soakSampleSec: num('soak-sample', 1),
  flatMbPerMin: num('flat-mb-per-min', 0),
  batch: { maxRecords: num('batch-records', 1), maxMs: num('batch-ms', 1) },
  sourceBatch: num('source-batch', 1, 10_000),
  tasksMax: num('tasks-max', 1),
  workerFlags: args['worker-flags'].split(' ').filter(Boolean),
  phases: args.phases.split(',').map((p) => p.trim()),
};
for (const p of settings.phases)
  if (!['max', 'paced', 'soak'].includes(p)) {
    console.error(`unknown phase ${p} (max, paced, soak)`);
    process.exit(2);
  }

// One more market per venue that never trades (an illiquid pair): its follower waits the whole run.
const QUIET_BINANCE: SimMarket = { id: 'XLMUSDT', base: 'XLM', quote: 'USDT' };
const QUIET_COINBASE: SimMarket = { id: 'XLM-USD', base: 'XLM', quote: 'USD' };
const binanceMarkets = [...BINANCE.slice(0, settings.symbolsPerVenue), QUIET_BINANCE];
const coinbaseMarkets = [...COINBASE.slice(0, settings.symbolsPerVenue), QUIET_COINBASE];
const busyCount = settings.symbolsPerVenue * 2;

function summarize(runs: RunResult[]) {
  if (!runs.length) return null;
  const med = (f: (r: RunResult) => number) => median(runs.map(f));
  return {
    runs: runs.length,
    tradesPerSec: med((r) => r.tradesPerSec),
    latencyP50Ms: med((r) => r.latencyMs.p50),
    latencyP99Ms: med((r) => r.latencyMs.p99),
    commitP99Ms: med((r) => r.commitMs.p99),
    workerCpuPct: med((r) => r.workerCpuPct),
    workerCpuUsPerTrade: med((r) => r.workerCpuUsPerTrade),
    simulatorCpuPct: med((r) => r.simulatorCpuPct),
    rssMb: med((r) => r.rssMb),
    exactlyOnce: runs.every((r) => r.exactlyOnce.ok),
  };
}

/** RSS of the soak: first/last/max of the samples, and the trend of the second half (the first half holds
 * the warm-up growth of heap and JIT) on each interval's mean RSS. The sawtooth of collections moves RSS by
 * ~150 MB within a minute, so on this machine soaks with no leak measured second-half slopes from -0.6 to
 * +6.1 MB/min: flat means at most 10 MB/min (a leak found with this benchmark, fixed, showed +59 MB/min at
 * 2,000 trades/s). The floor of the live JS heap (lowest heapUsed per interval, right after collections) is
 * steadier and reported beside it. */
function soakSummary(run: RunResult) {
  const s = run.rssSamples;
  const secondHalf = s.filter((x) => x.atSec >= run.windowSec / 2);
  const perMin = (key: 'rssMinMb' | 'rssMeanMb' | 'heapUsedMinMb') =>
    slope(secondHalf.map((x) => ({ x: x.atSec / 60, y: x[key] })));
  const rssSlope = perMin('rssMeanMb');
  return {
    minutes: settings.soakMinutes,
    measuredSec: run.windowSec,
    rate: run.offeredRate,
    tradesPerSec: run.tradesPerSec,
    samples: s.length,
    firstRssMb: s[0]!.rssMb,
    lastRssMb: s[s.length - 1]!.rssMb,
    maxRssMb: Math.max(...s.map((x) => x.rssMaxMb)),
    rssMeanSlopeMbPerMin: rssSlope,
    rssFloorSlopeMbPerMin: perMin('rssMinMb'),
    heapFloorSlopeMbPerMin: perMin('heapUsedMinMb'),
    flatThresholdMbPerMin: settings.flatMbPerMin,
    flat: rssSlope <= settings.flatMbPerMin,
    latencyP50Ms: run.latencyMs.p50,
    latencyP99Ms: run.latencyMs.p99,
    exactlyOnce: run.exactlyOnce.ok,
  };
}

function table(runs: RunResult[], medians: [string, ReturnType<typeof summarize>][]): string {
  const head = [
    'run',
    'offered/s',
    'trades/s',
    'p50 ms',
    'p99 ms',
    'max ms',
    'commit p99',
    'CPU %',
    'us/trade',
    'sim CPU %',
    'RSS MB',
    'REST',
    'load',
    'exactly-once',
  ];
  const rows: string[][] = [head];
  for (const r of runs)
    rows.push([
      `${r.phase} ${r.run}`,
      r.offeredRate ? String(r.offeredRate) : 'max',
      r.tradesPerSec.toFixed(0),
      String(r.latencyMs.p50),
      String(r.latencyMs.p99),
      r.latencyMs.max.toFixed(0),
      String(r.commitMs.p99),
      r.workerCpuPct.toFixed(0),
      r.workerCpuUsPerTrade.toFixed(1),
      r.simulatorCpuPct.toFixed(0),
      r.rssMb.toFixed(0),
      String(r.restTradeCalls),
      r.loadavgEnd[0]!.toFixed(1),
      r.exactlyOnce.ok ? `ok (${r.exactlyOnce.records})` : r.exactlyOnce.problems.join('; '),
    ]);
  for (const [name, s] of medians)
    if (s)
      rows.push([
        `${name} median`,
        name === 'max' ? 'max' : String(settings.pacedRate),
        s.tradesPerSec.toFixed(0),
        String(s.latencyP50Ms),
        String(s.latencyP99Ms),
        '',
        String(s.commitP99Ms),
        s.workerCpuPct.toFixed(0),
        s.workerCpuUsPerTrade.toFixed(1),
        s.simulatorCpuPct.toFixed(0),
        s.rssMb.toFixed(0),
        '',
        '',
        s.exactlyOnce ? 'ok' : 'FAILED',
      ]);
  const last = head.length - 1;
  const widths = head.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 || i === last ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))))
    .map((r) => r.join('  ').trimEnd())
    .join('\n');
}

async function main() {
  const kafka = await startKafka();
  const ctx: RunContext = {
    brokers: kafka.brokers,
    binanceMarkets,
    coinbaseMarkets,
    quiet: new Set([QUIET_BINANCE.id, QUIET_COINBASE.id]),
    maxInflight: settings.maxInflight,
    maxPerTick: settings.maxPerTick,
    batch: settings.batch,
    sourceBatch: settings.sourceBatch,
    tasksMax: settings.tasksMax,
    execArgv: [
      '--import',
      'tsx',
      ...settings.workerFlags,
      ...(args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${resolve(args['cpu-prof'])}`] : []),
    ],
  };
  const runs: RunResult[] = [];
  const loadavgStart = loadavg();
  const started = new Date();
  try {
    for (const name of settings.phases) {
      const soak = name === 'soak';
      const count = soak ? 1 : settings.runs;
      for (let run = 1; run <= count; run++)
        runs.push(
          await runOnce(ctx, {
            name,
            run,
            runs: count,
            rate: name === 'max' ? 0 : soak ? settings.soakRate : settings.pacedRate,
            warmupSec: settings.warmupSec,
            windowSec: soak ? Math.round(settings.soakMinutes * 60) : settings.windowSec,
            ...(soak ? { sampleSec: settings.soakSampleSec } : {}),
          }),
        );
    }
  } finally {
    await kafka.close();
  }
  const loadavgEnd = loadavg();

  const of = (phase: string) => runs.filter((r) => r.phase === phase);
  const max = summarize(of('max'));
  const paced = summarize(of('paced'));
  const soakRun = of('soak')[0];
  const soak = soakRun ? soakSummary(soakRun) : null;

  const aims: { aim: string; value: number; pass: boolean }[] = [];
  if (max)
    aims.push({
      aim: 'max rate >= 20,000 trades/s per worker (median)',
      value: max.tradesPerSec,
      pass: max.tradesPerSec >= 20_000,
    });
  if (paced)
    aims.push({
      aim: `latency p99 < 250 ms at ${settings.pacedRate} trades/s (median)`,
      value: paced.latencyP99Ms,
      pass: paced.latencyP99Ms < 250,
    });
  if (soak)
    aims.push({
      aim: `RSS flat over ${soak.minutes} min (second-half slope of the mean RSS <= ${settings.flatMbPerMin} MB/min)`,
      value: soak.rssMeanSlopeMbPerMin,
      pass: soak.flat,
    });
  aims.push({
    aim: 'exactly once (runs whose topic held ids 1..n per symbol, once, in order)',
    value: runs.filter((r) => r.exactlyOnce.ok).length,
    pass: runs.every((r) => r.exactlyOnce.ok),
  });

  console.log(
    `\n${table(runs, [
      ['max', max],
      ['paced', paced],
    ])}`,
  );
  if (soak)
    console.log(
      `\nsoak ${soak.minutes} min at ${soak.rate} trades/s: RSS first ${soak.firstRssMb.toFixed(1)} MB, ` +
        `last ${soak.lastRssMb.toFixed(1)} MB, max ${soak.maxRssMb.toFixed(1)} MB; second-half slopes: mean RSS ` +
        `${soak.rssMeanSlopeMbPerMin.toFixed(2)} MB/min, RSS floor ${soak.rssFloorSlopeMbPerMin.toFixed(2)} ` +
        `MB/min, live heap floor ${soak.heapFloorSlopeMbPerMin.toFixed(2)} MB/min: ` +
        (soak.flat ? 'flat' : 'NOT flat'),
    );
  console.log('');
  for (const a of aims)
    console.log(
      `${a.pass ? 'PASS' : 'FAIL'}  ${a.aim}: ${Number.isInteger(a.value) ? a.value : a.value.toFixed(2)}`,
    );
  const kafkaName = kafka.owned
    ? `Kafka ${kafka.version ?? ''}`
    : `external Kafka ${kafka.brokers.join(',')}`;
  console.log(
    `\n${busyCount} busy symbols (${settings.symbolsPerVenue} per venue) and a quiet one per venue, one ` +
      `worker, transactions of ` +
      `${settings.batch.maxRecords} records / ${settings.batch.maxMs} ms; ${os.cpus().length} cores, load ` +
      `average ${loadavgStart.join(' ')} at start, ${loadavgEnd.join(' ')} at end; ${kafkaName}`,
  );

  if (args['no-write']) return;
  const file = args.out
    ? resolve(args.out)
    : join(resolve(import.meta.dirname, '../../bench/results'), 'exchanges.json');
  mkdirSync(dirname(file), { recursive: true });
  const cpus = os.cpus();
  const results = [
    ...(max ? [{ name: 'max rate, median', unit: 'trades/s', value: max.tradesPerSec }] : []),
    ...(paced
      ? [
          { name: `latency p50 at ${settings.pacedRate}/s, median`, unit: 'ms', value: paced.latencyP50Ms },
          { name: `latency p99 at ${settings.pacedRate}/s, median`, unit: 'ms', value: paced.latencyP99Ms },
        ]
      : []),
    ...(soak
      ? [
          { name: `RSS after ${soak.minutes} min at ${soak.rate}/s`, unit: 'MB', value: soak.lastRssMb },
          { name: 'RSS slope, second half of the soak', unit: 'MB/min', value: soak.rssMeanSlopeMbPerMin },
          {
            name: 'live heap floor slope, second half of the soak',
            unit: 'MB/min',
            value: soak.heapFloorSlopeMbPerMin,
          },
        ]
      : []),
  ];
  const report = {
    benchmark: 'exchanges',
    at: started.toISOString(),
    finishedAt: new Date().toISOString(),
    settings: {
      ...settings,
      binance: binanceMarkets.map((m) => m.id),
      coinbase: coinbaseMarkets.map((m) => m.id),
    },
    machine: {
      cpus: cpus.length,
      cpuModel: cpus[0]?.model ?? null,
      memoryGb: Number((os.totalmem() / 1024 ** 3).toFixed(1)),
      platform: `${os.platform()} ${os.release()}`,
      node: process.version,
      loadavgStart,
      loadavgEnd,
      note: 'load averages (1/5/15 min) count every process on the machine: Kafka, the simulators, other work',
    },
    kafka: { owned: kafka.owned, version: kafka.version, brokers: kafka.owned ? null : kafka.brokers },
    medians: { max, paced },
    soak,
    aims,
    results,
    runs,
  };
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${file}`);
}

await main();
