// Scale-out of the partitioned processor: events/s through M processor instances sharing the tasks of P
// co-partitioned input partitions (M processes running the CLI's `run` with `partitioned: true`, or, with
// --threads, one process running `run --threads M`), against one instance on the same input in the same
// run (the reference).
//
// The traffic is bench/traffic.ts's, keyed by entity as a re-keying stage would key it: a transfer by its
// sender, a CRM record by its customer's payout address (so a customer and its address share a task), a
// trade by symbol, Bitcoin transactions all to partition 0 (a peel chain changes txid at every hop). This
// keying loses the findings that span two tasks (a payment to another customer's address), so the alert
// count is reported, not compared with the engine's.
//
// Per run: fresh topics with P partitions, the traffic produced first (not timed), then M processes started
// together; the clock runs from the start until the group's committed offsets cover every record (polled
// every 200 ms), so process start-up (node, tsx, group join, restore) is inside it; also reported from the
// first committed record on. CPU is the processes' user + system time (from /proc, Linux) when they caught up.
//
// --rekey: the traffic keyed as our connectors key it (by chain, venue, CRM record), and each layout is the
// rekey stage plus M processors reading the by-entity topic (`rekey: { partitions }` in the config); the
// reference is then one plain processor on the same source topics, and the clock runs until the rekey
// stage covered the sources and the processors covered the by-entity topic.
//
// Usage: npx tsx bench/scale-out.ts [--events 200000] [--entities 100000] [--partitions 2] [--instances 1,2]
//        [--threads] [--rekey] [--repeats 1] [--out FILE]
// Kafka: KAFKA_BROKERS (comma-separated) if set, else a broker started by @tributary/testkit for the run.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import {
  benchResultsPath,
  createTopics,
  deleteTopics,
  groupLagOf,
  median,
  processCpuSeconds,
  readTopic,
  spawnCli,
  startKafka,
  writeBenchResults,
  writeConfig,
  type KafkaBroker,
  type WorkerProcess,
} from '@tributary/testkit';
import { topicsOf, type CorrelationEvent } from '../src/index.ts';
import { partitionOf } from '../src/route.ts';
import { exitWithHelp, fmt, intOptions, log, printResults } from './report.ts';
import { addr, produceTraffic, traffic } from './traffic.ts';

const USAGE = `Usage: npx tsx bench/scale-out.ts [options]
  --events N        input records per run (default 200000)
  --entities N      distinct addresses in the traffic (default 100000)
  --partitions N    partitions of every input topic, i.e. tasks (default 2)
  --instances LIST  processor instances to run, comma-separated; 1 is always run as the reference (default 1,2)
  --threads         run M instances as M threads of one process (run --threads M), not M processes
  --rekey           source topics keyed as the connectors key them; each layout is the rekey stage plus
                    M processors (reference: one plain processor on the source topics)
  --repeats N       runs per instance count; medians are reported (default 1)
  --out FILE        results JSON (default bench/results/correlation-scale-out[-threads].json at the repo root)
  --help            this text
Kafka: KAFKA_BROKERS (comma-separated) if set, else a local broker is started for the run.`;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    entities: { type: 'string', default: '100000' },
    partitions: { type: 'string', default: '2' },
    instances: { type: 'string', default: '1,2' },
    repeats: { type: 'string', default: '1' },
    threads: { type: 'boolean', default: false },
    rekey: { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
exitWithHelp(values.help, USAGE);
const {
  events: N,
  entities: ENTITIES,
  partitions: PARTITIONS,
  repeats: REPEATS,
} = intOptions(values, { events: 1, entities: 1, partitions: 1, repeats: 1 }, USAGE);
const INSTANCES = [...new Set([1, ...values.instances.split(',').map(Number)])].sort((a, b) => a - b);
if (INSTANCES.some((m) => !Number.isInteger(m) || m < 1)) {
  console.error(`--instances must list positive integers\n${USAGE}`);
  process.exit(2);
}
const THREADS = values.threads;
const REKEY = values.rekey;
const NAME = `correlation-scale-out${REKEY ? '-rekey' : ''}${THREADS ? '-threads' : ''}`;
const OUT = values.out ?? benchResultsPath(NAME);
/** The layouts measured: instance count, whether behind the rekey stage, and a label. */
interface Layout {
  instances: number;
  rekey: boolean;
  label: string;
}
const processors = (m: number) =>
  m === 1 ? '1 instance' : THREADS ? `1 process, ${m} threads` : `${m} processes`;
const LAYOUTS: Layout[] = REKEY
  ? [
      { instances: 1, rekey: false, label: '1 instance, no rekey' },
      ...INSTANCES.map((m) => ({ instances: m, rekey: true, label: `rekey + ${processors(m)}` })),
    ]
  : INSTANCES.map((m) => ({ instances: m, rekey: false, label: processors(m) }));
const REFERENCE = LAYOUTS[0]!.label;
const CLI = join(import.meta.dirname, '..', 'src', 'cli.ts');
const TIMEOUT_MS = 600_000;

function entityOf(e: CorrelationEvent): string | null {
  switch (e.kind) {
    case 'transfer':
      return e.record.from ?? e.record.to;
    case 'crm':
      // The bench's customer c holds address c * 10 (traffic.ts): its changes go with that address.
      return addr(Number(e.record.recordId) * 10);
    case 'trade':
      return e.record.symbol;
    default:
      return null; // Bitcoin transactions: one partition
  }
}
const partitionOfEvent = (e: CorrelationEvent): number => {
  const entity = entityOf(e);
  return entity === null ? 0 : partitionOf(entity.toLowerCase(), PARTITIONS);
};

interface Run {
  layout: string;
  instances: number;
  eps: number;
  steadyEps: number;
  cpuEps: number;
  wallS: number;
  alerts: number;
}

async function runOnce(brokers: string[], layout: Layout, events: CorrelationEvent[]): Promise<Run> {
  const { instances, label } = layout;
  const prefix = `scale-${randomUUID().slice(0, 8)}.`;
  const { inputs, outputs } = topicsOf({ topicPrefix: prefix, inputs: {}, outputs: {} });
  log(`${label}: topics ${prefix}* with ${PARTITIONS} partitions`);
  const workers: WorkerProcess[] = [];
  const admin = new Kafka({ brokers, clientId: 'bench-scale-out', logLevel: logLevel.NOTHING }).admin();
  try {
    await createTopics(brokers, [
      ...[inputs.transfers, inputs.transactions, inputs.trades, inputs.crm].map((topic) => ({
        topic,
        numPartitions: PARTITIONS,
      })),
      { topic: inputs.watchlist },
    ]);
    // Behind the rekey stage (and its reference), the records are keyed as the connectors key them.
    const produced = await produceTraffic(brokers, inputs, events, REKEY ? undefined : partitionOfEvent);
    const groupId = `${prefix}correlation`;
    const config = writeConfig({
      brokers,
      groupId,
      topicPrefix: prefix,
      partitioned: !REKEY,
      ...(layout.rekey ? { rekey: { partitions: PARTITIONS } } : {}),
      sessionTimeoutMs: 10_000,
    });
    const sources = [inputs.transfers, inputs.transactions, inputs.trades, inputs.crm];
    // How far behind the layout is: the rekey stage on the sources, plus the processors on its output.
    const lagOf = async () => {
      if (!layout.rekey) return groupLagOf(admin, groupId, sources);
      const rekeyLag = await groupLagOf(admin, `${groupId}-rekey`, sources);
      const processorLag = await groupLagOf(admin, groupId, [`${prefix}correlation.by-entity`]);
      return rekeyLag === 0 ? processorLag : rekeyLag + Math.max(processorLag, 1);
    };
    // One admin client for the polling below: a connection per poll would load the broker being measured.
    await admin.connect();
    const t0 = performance.now();
    const env = { LOG_LEVEL: 'warn' };
    if (layout.rekey) workers.push(spawnCli(['rekey', '--config', config], { cli: CLI, env }));
    if (THREADS && instances > 1)
      workers.push(spawnCli(['run', '--config', config, '--threads', String(instances)], { cli: CLI, env }));
    else
      for (let i = 0; i < instances; i++)
        workers.push(spawnCli(['run', '--config', config], { cli: CLI, env }));
    let firstAt = 0;
    let firstLag = produced.records;
    let lastLog = t0;
    let cpu = 0;
    for (;;) {
      const lag = await lagOf().catch(() => -1);
      const now = performance.now();
      if (lag >= 0 && lag < produced.records && !firstAt) {
        firstAt = now;
        firstLag = lag;
      }
      if (lag === 0) {
        cpu = workers.reduce((sum, w) => sum + processCpuSeconds(w.child.pid!), 0);
        break;
      }
      const dead = workers.find((w) => w.child.exitCode !== null);
      if (dead)
        throw new Error(`a processor exited (${dead.child.exitCode}):\n${dead.output().slice(-3000)}`);
      if (now - t0 > TIMEOUT_MS) throw new Error(`not caught up after ${TIMEOUT_MS / 1000} s (lag ${lag})`);
      if (now - lastLog > 5_000) {
        lastLog = now;
        log(`  ${fmt(produced.records - Math.max(lag, 0))} / ${fmt(produced.records)} committed`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const t1 = performance.now();
    const wallS = (t1 - t0) / 1000;
    const alerts = (await readTopic(brokers, outputs.alerts, { timeoutMs: 60_000 })).length;
    const run: Run = {
      layout: label,
      instances,
      eps: produced.records / wallS,
      steadyEps: firstLag / ((t1 - firstAt) / 1000),
      cpuEps: produced.records / cpu,
      wallS,
      alerts,
    };
    log(
      `${label}: ${fmt(produced.records)} events in ${fmt(wallS, 2)} s (${fmt(run.eps)} events/s, ` +
        `${fmt(run.steadyEps)} from the first commit, ${fmt(run.cpuEps)} per CPU-s), ${fmt(alerts)} alerts`,
    );
    return run;
  } finally {
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => w.exited));
    await admin.disconnect();
    await deleteTopics(brokers, prefix).catch(() => {});
  }
}

let kafka: KafkaBroker | null = null;
try {
  if (!process.env.KAFKA_BROKERS) log('KAFKA_BROKERS not set: starting a local broker');
  kafka = await startKafka();
  log(
    `Kafka at ${kafka.brokers.join(',')}; ${fmt(N)} events, ${PARTITIONS} partitions, layouts: ${LAYOUTS.map((l) => l.label).join('; ')}`,
  );
  const events = traffic(N, 7, ENTITIES);
  const runs: Run[] = [];
  for (let r = 1; r <= REPEATS; r++)
    for (const layout of LAYOUTS) runs.push(await runOnce(kafka.brokers, layout, events));
  type Figure = 'eps' | 'steadyEps' | 'cpuEps' | 'alerts';
  const of = (label: string, k: Figure) => median(runs.filter((x) => x.layout === label).map((x) => x[k]));
  const results = LAYOUTS.map((l) => l.label).flatMap((m) => [
    {
      name: `events/s, ${m}, ${PARTITIONS} partitions (reference: ${REFERENCE})`,
      unit: 'events/s',
      value: of(m, 'eps'),
      reference: of(REFERENCE, 'eps'),
      ratio: of(m, 'eps') / of(REFERENCE, 'eps'),
    },
    {
      name: `events/s from the first commit, ${m}`,
      unit: 'events/s',
      value: of(m, 'steadyEps'),
      reference: of(REFERENCE, 'steadyEps'),
      ratio: of(m, 'steadyEps') / of(REFERENCE, 'steadyEps'),
    },
    {
      name: `events per CPU-second, ${m}`,
      unit: 'events/cpu-s',
      value: of(m, 'cpuEps'),
      reference: null,
      ratio: null,
    },
    {
      name: `alerts, ${m}`,
      unit: 'alerts',
      value: of(m, 'alerts'),
      reference: null,
      ratio: null,
    },
  ]);
  printResults(results);
  writeBenchResults(
    NAME,
    {
      benchmark: NAME,
      threads: THREADS,
      rekey: REKEY,
      at: new Date().toISOString(),
      events: N,
      entities: ENTITIES,
      partitions: PARTITIONS,
      repeats: REPEATS,
      kafka: kafka.version ?? 'external',
      node: process.version,
      results,
      runs,
    },
    OUT,
  );
} finally {
  await kafka?.stop();
}
