// End-to-end throughput of the live processor against a real Kafka broker: events/s THROUGH `runProcessor`
// (kafkajs consumer group over the input topics, every catalogue rule on, alerts + state changelog +
// consumed offsets in one Kafka transaction per fetched batch), 100,000 entities, the same mixed traffic
// as bench/throughput.ts (bench/traffic.ts).
//
// Per repeat: fresh topics under a new prefix (one partition each); the generated records are produced
// beforehand by a plain (non-transactional) producer, in generation order, each to its topic (not timed);
// then the processor runs in this process from an empty changelog and the clock runs from its start until
// its commits (the `onCommit` record counts) cover every produced record. CPU is the process's user +
// system time over that window (kafkajs, GC and the engine alike; the producer phase is outside it); peak
// RSS is sampled every 200 ms in the window; the changelog is read back afterwards (records and bytes
// written, and what compaction would keep: the live keys and their last values). Medians over repeats.
// The reference for events/s is the aim in the issue: 50,000 events/s per worker.
//
// Alert latency is measured by bench/latency.ts (a paced producer): with the input preloaded, "commit time
// minus produce time" would only measure how long a record waited in the backlog.
// The input is a backlog, so the processor's input clock (event-time alignment of the partitions) decides
// how the four topics interleave; events that still arrive behind the watermark are counted as late (they
// skip the rules, which is cheaper) and reported. The order is not the generation order, so the alerts
// raised can differ from the engine-only benchmark's.
//
// Usage: npx tsx bench/processor.ts [--events 200000] [--entities 100000] [--repeats 3] [--out FILE]
// Kafka: KAFKA_BROKERS (comma-separated) if set, else a broker started by @tributary/testkit for the run.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { pino } from 'pino';
import {
  benchResultsPath,
  createTopics,
  deleteTopics,
  median,
  readTopic,
  startKafka,
  writeBenchResults,
  type KafkaBroker,
} from '@tributary/testkit';
import { catalogue, runProcessor, topicsOf } from '../src/index.ts';
import { exitWithHelp, fmt, intOptions, log, printResults } from './report.ts';
import { produceTraffic, traffic } from './traffic.ts';

const USAGE = `Usage: npx tsx bench/processor.ts [options]
  --events N     input records per repeat (default 200000)
  --entities N   distinct addresses in the traffic (default 100000)
  --repeats N    runs; medians are reported (default 3)
  --seed N       traffic seed (default 7)
  --max-bytes N  the processor's maxBytesPerPartition, i.e. the largest fetch per partition and so per
                 transaction (default: the processor's, 4 MiB)
  --out FILE     results JSON (default bench/results/correlation-processor.json at the repo root)
  --keep-topics  leave each run's topics on the broker (default: deleted after the run)
  --no-rules     run the processor with no rule: the cost of consuming, decoding, the event-time clock,
                 the engine's bookkeeping and the transactions alone (the ceiling the rules run under)
  --help         this text
Kafka: KAFKA_BROKERS (comma-separated) if set, else a local broker is started for the run.`;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    entities: { type: 'string', default: '100000' },
    repeats: { type: 'string', default: '3' },
    seed: { type: 'string', default: '7' },
    'max-bytes': { type: 'string' },
    out: { type: 'string' },
    'keep-topics': { type: 'boolean', default: false },
    'no-rules': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
exitWithHelp(values.help, USAGE);
const {
  events: N,
  entities: ENTITIES,
  repeats: REPEATS,
  seed: SEED,
} = intOptions(values, { events: 1, entities: 1, repeats: 1, seed: 0 }, USAGE);
const MAX_BYTES = values['max-bytes'] === undefined ? undefined : Number(values['max-bytes']);
if (MAX_BYTES !== undefined && !(Number.isInteger(MAX_BYTES) && MAX_BYTES > 0)) {
  console.error(`--max-bytes must be a positive integer\n${USAGE}`);
  process.exit(2);
}
const OUT = values.out ?? benchResultsPath('correlation-processor');
const AIM = 50_000;
const STALL_MS = 120_000;

// A full collection before each run, so the traffic of the produce phase is not in the run's RSS.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

interface Run {
  eps: number;
  /** Startup (connect, fence, restore, group join) excluded: from the first commit to the last. */
  steadyEps: number;
  cpuEps: number;
  wallS: number;
  cpuS: number;
  startupS: number;
  peakRssMb: number;
  baseRssMb: number;
  alerts: number;
  late: number;
  commits: number;
  recordsPerCommit: number;
  changelogRecords: number;
  changelogMb: number;
  stateKeys: number;
  stateMb: number;
  inputMb: number;
}

async function runOnce(brokers: string[], rep: number): Promise<Run> {
  const prefix = `bench-${randomUUID().slice(0, 8)}.`;
  const { inputs, outputs } = topicsOf({ topicPrefix: prefix, inputs: {}, outputs: {} });
  log(`run ${rep}/${REPEATS}: topics ${prefix}*`);
  try {
    await createTopics(brokers, [
      { topic: inputs.transfers },
      { topic: inputs.transactions },
      { topic: inputs.trades },
      { topic: inputs.crm },
      { topic: inputs.watchlist },
    ]);
    const produced = await produceTraffic(brokers, inputs, traffic(N, SEED, ENTITIES));

    // The heap is freed at once; RSS shrinks only after the sweeper has returned the pages.
    gc();
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    gc();
    const baseRss = process.memoryUsage().rss;
    let peakRss = baseRss;
    let committed = 0;
    let alerts = 0;
    let late = 0;
    let commits = 0;
    let firstCommitAt = 0;
    let firstCommitRecords = 0;
    let lastProgressAt = performance.now();
    let reached = () => {};
    const done = new Promise<void>((resolve) => (reached = resolve));
    const ac = new AbortController();
    const rules = values['no-rules'] ? [] : catalogue();
    log(
      `run ${rep}/${REPEATS}: processor started (${rules.length} rules), waiting for ${fmt(produced.records)}`,
    );

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);
    let reportedAt = t0;
    let reportedRecords = 0;
    let stalled = (_err: Error) => {};
    const stall = new Promise<never>((_, reject) => (stalled = reject));
    const progress = setInterval(() => {
      const now = performance.now();
      log(
        `  committed ${fmt(committed)} / ${fmt(produced.records)} in ${fmt(commits)} transactions, ` +
          `${fmt((committed - reportedRecords) / ((now - reportedAt) / 1000))} events/s, ` +
          `RSS ${fmt(process.memoryUsage().rss / 2 ** 20)} MB`,
      );
      reportedAt = now;
      reportedRecords = committed;
      if (now - lastProgressAt > STALL_MS)
        stalled(new Error(`no commit for ${STALL_MS / 1000} s at ${committed} of ${produced.records}`));
    }, 5_000);
    const running = runProcessor({
      brokers,
      groupId: `${prefix}correlation`,
      transactionalId: `${prefix}correlation-0`,
      inputs,
      outputs,
      rules,
      allowedLateness: '1h',
      ...(MAX_BYTES ? { maxBytesPerPartition: MAX_BYTES } : {}),
      logger: pino({ level: 'warn' }),
      signal: ac.signal,
      onCommit: (c) => {
        committed += c.records;
        alerts += c.alerts;
        late += c.late;
        commits++;
        lastProgressAt = performance.now();
        if (!firstCommitAt) {
          firstCommitAt = lastProgressAt;
          firstCommitRecords = c.records;
        }
        if (committed >= produced.records) reached();
      },
    });
    const ended = running.then(() => {
      throw new Error(`processor stopped at ${committed} of ${produced.records} records`);
    });
    ended.catch(() => {}); // it ends after every record too, when we abort it
    let t1: number;
    let cpu: NodeJS.CpuUsage;
    try {
      await Promise.race([done, stall, ended]);
      t1 = performance.now();
      cpu = process.cpuUsage(cpu0);
    } finally {
      clearInterval(sampler);
      clearInterval(progress);
      ac.abort();
      await running.catch(() => {});
    }
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    const wallS = (t1 - t0) / 1000;
    const cpuS = (cpu.user + cpu.system) / 1e6;
    log(
      `run ${rep}/${REPEATS}: ${fmt(committed)} events in ${fmt(wallS, 2)} s (${fmt(committed / wallS)} events/s, ` +
        `${fmt(committed / cpuS)} per CPU-s), ${fmt(commits)} transactions, ${fmt(alerts)} alerts, ` +
        `${fmt(late)} late events, CPU ${fmt(cpu.user / 1e6, 1)} s user + ${fmt(cpu.system / 1e6, 1)} s system, ` +
        `peak RSS ${fmt(peakRss / 2 ** 20)} MB; reading the changelog back`,
    );

    const t2 = performance.now();
    const changelog = await readTopic(brokers, outputs.changelog, { timeoutMs: 180_000 });
    let changelogBytes = 0;
    const live = new Map<string, number>();
    for (const m of changelog) {
      const k = m.key ?? '';
      const size = Buffer.byteLength(k) + (m.value === null ? 0 : Buffer.byteLength(m.value));
      changelogBytes += size;
      if (m.value === null) live.delete(k);
      else live.set(k, size);
    }
    let stateBytes = 0;
    for (const size of live.values()) stateBytes += size;
    log(
      `run ${rep}/${REPEATS}: changelog ${fmt(changelog.length)} records, ${fmt(changelogBytes / 2 ** 20, 1)} MB ` +
        `(${fmt(live.size)} live keys, ${fmt(stateBytes / 2 ** 20, 1)} MB) read in ${fmt((performance.now() - t2) / 1000, 1)} s`,
    );
    return {
      eps: committed / wallS,
      steadyEps: (committed - firstCommitRecords) / ((t1 - firstCommitAt) / 1000),
      cpuEps: committed / cpuS,
      wallS,
      cpuS,
      startupS: (firstCommitAt - t0) / 1000,
      peakRssMb: peakRss / 2 ** 20,
      baseRssMb: baseRss / 2 ** 20,
      alerts,
      late,
      commits,
      recordsPerCommit: committed / commits,
      changelogRecords: changelog.length,
      changelogMb: changelogBytes / 2 ** 20,
      stateKeys: live.size,
      stateMb: stateBytes / 2 ** 20,
      inputMb: produced.bytes / 2 ** 20,
    };
  } finally {
    if (!values['keep-topics']) await deleteTopics(brokers, prefix).catch(() => {});
  }
}

let kafka: KafkaBroker | null = null;
try {
  if (!process.env.KAFKA_BROKERS) log('KAFKA_BROKERS not set: starting a local broker');
  kafka = await startKafka();
  log(`Kafka at ${kafka.brokers.join(',')}; ${fmt(N)} events, ${fmt(ENTITIES)} entities, ${REPEATS} repeats`);
  const runs: Run[] = [];
  for (let r = 1; r <= REPEATS; r++) runs.push(await runOnce(kafka.brokers, r));

  const m = (k: keyof Run) => median(runs.map((x) => x[k]));
  const per1k = (k: keyof Run) => median(runs.map((x) => (x[k] / N) * 1000));
  const rules = values['no-rules'] ? 0 : catalogue().length;
  const results = [
    {
      name: `events/s through the processor, ${rules} rules, ${ENTITIES} entities`,
      unit: 'events/s',
      value: m('eps'),
      reference: AIM,
      ratio: m('eps') / AIM,
    },
    {
      name: 'events/s from the first commit on (startup excluded)',
      unit: 'events/s',
      value: m('steadyEps'),
      reference: AIM,
      ratio: m('steadyEps') / AIM,
    },
    { name: 'events per CPU-second', unit: 'events/cpu-s', value: m('cpuEps'), reference: null, ratio: null },
    { name: 'startup to the first commit', unit: 's', value: m('startupS'), reference: null, ratio: null },
    {
      name: 'peak RSS (reference: before the processor started)',
      unit: 'MB',
      value: m('peakRssMb'),
      reference: m('baseRssMb'),
      ratio: m('peakRssMb') / m('baseRssMb'),
    },
    {
      name: 'changelog records per 1,000 events',
      unit: 'records',
      value: per1k('changelogRecords'),
      reference: null,
      ratio: null,
    },
    {
      name: 'changelog written per 1,000 events (reference: input)',
      unit: 'MB',
      value: per1k('changelogMb'),
      reference: per1k('inputMb'),
      ratio: per1k('changelogMb') / per1k('inputMb'),
    },
    {
      name: 'state after compaction: live keys',
      unit: 'keys',
      value: m('stateKeys'),
      reference: null,
      ratio: null,
    },
    { name: 'state after compaction: size', unit: 'MB', value: m('stateMb'), reference: null, ratio: null },
    { name: 'alerts raised', unit: 'alerts', value: m('alerts'), reference: null, ratio: null },
    {
      name: 'late events (behind the watermark: no rule ran)',
      unit: 'events',
      value: m('late'),
      reference: N,
      ratio: m('late') / N,
    },
    { name: 'transactions', unit: 'commits', value: m('commits'), reference: null, ratio: null },
    {
      name: 'records per transaction',
      unit: 'records',
      value: m('recordsPerCommit'),
      reference: null,
      ratio: null,
    },
  ];
  printResults(results);
  writeBenchResults(
    'correlation-processor',
    {
      benchmark: 'correlation-processor',
      at: new Date().toISOString(),
      events: N,
      entities: ENTITIES,
      repeats: REPEATS,
      seed: SEED,
      maxBytesPerPartition: MAX_BYTES ?? null,
      kafka: kafka.version ?? 'external',
      node: process.version,
      runs,
      results,
    },
    OUT,
  );
} finally {
  await kafka?.stop();
}
