// Alert latency through the live processor against a real Kafka broker. The traffic of bench/traffic.ts
// is produced at a fixed rate while `runProcessor` runs (every catalogue rule on), as a live source would
// write it. An alert's latency is the time from the Kafka timestamp of the newest input record in its
// evidence (when the producer sent it) to the Kafka timestamp of the alert record, which the processor
// writes inside the transaction that commits it. Alerts whose triggering input was sent in the first
// `--warmup` seconds are left out (the consumer group is still forming then). Medians over repeats.
//
// Usage: npx tsx bench/latency.ts [--events 60000] [--rate 2000] [--entities 100000] [--repeats 3]
//                                 [--warmup 5] [--out FILE]
// Kafka: KAFKA_BROKERS (comma-separated) if set, else a broker started by @tributary/testkit for the run.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { pino } from 'pino';
import { alert as alertSchema } from '@tributary/schemas';
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
import { sleep } from '@tributary/sdk';
import { catalogue, runProcessor, topicsOf } from '../src/index.ts';
import { exitWithHelp, fmt, intOptions, log, printResults } from './report.ts';
import { route, traffic, type Logical } from './traffic.ts';

const USAGE = `Usage: npx tsx bench/latency.ts [options]
  --events N     input records per repeat (default 60000)
  --rate N       records per second the producer sends (default 2000)
  --entities N   distinct addresses in the traffic (default 100000)
  --repeats N    runs; medians are reported (default 3)
  --warmup S     seconds at the start whose alerts are left out (default 5)
  --seed N       traffic seed (default 7)
  --out FILE     results JSON (default bench/results/correlation-latency.json at the repo root)
  --help         this text
Kafka: KAFKA_BROKERS (comma-separated) if set, else a local broker is started for the run.`;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '60000' },
    rate: { type: 'string', default: '2000' },
    entities: { type: 'string', default: '100000' },
    repeats: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '5' },
    seed: { type: 'string', default: '7' },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
exitWithHelp(values.help, USAGE);
const opt = intOptions(values, { events: 1, rate: 1, entities: 1, repeats: 1, warmup: 0, seed: 0 }, USAGE);
const OUT = values.out ?? benchResultsPath('correlation-latency');
/** How often the paced producer sends what is due. */
const TICK_MS = 20;

function quantile(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]! : Number.NaN;
}

interface Run {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  alerts: number;
  measured: number;
  sentRate: number;
}

async function runOnce(brokers: string[], rep: number): Promise<Run> {
  const prefix = `bench-${randomUUID().slice(0, 8)}.`;
  const { inputs, outputs } = topicsOf({ topicPrefix: prefix, inputs: {}, outputs: {} });
  const logical: Logical[] = ['transfers', 'transactions', 'trades', 'crm'];
  try {
    await createTopics(brokers, [...logical.map((t) => ({ topic: inputs[t] })), { topic: inputs.watchlist }]);
    const messages = traffic(opt.events, opt.seed, opt.entities).map((e) => {
      const { topic, key } = route(e);
      return { topic, m: { key, value: JSON.stringify(e.record) } satisfies Message };
    });
    let committed = 0;
    let reached = () => {};
    const done = new Promise<void>((resolve) => (reached = resolve));
    const ac = new AbortController();
    const running = runProcessor({
      brokers,
      groupId: `${prefix}correlation`,
      transactionalId: `${prefix}correlation-0`,
      inputs,
      outputs,
      rules: catalogue(),
      allowedLateness: '1h',
      logger: pino({ level: 'warn' }),
      signal: ac.signal,
      onCommit: (c) => {
        committed += c.records;
        if (committed >= messages.length) reached();
      },
    });

    // Paced producer: every tick, send what is due by now (one request, grouped by topic).
    const kafka = new Kafka({ brokers, clientId: 'bench-paced', logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
    await producer.connect();
    const start = performance.now();
    const startedAt = Date.now();
    let sent = 0;
    try {
      while (sent < messages.length) {
        const due = Math.min(messages.length, Math.floor(((performance.now() - start) / 1000) * opt.rate));
        if (due > sent) {
          const byTopic = new Map<string, Message[]>();
          for (const { topic, m } of messages.slice(sent, due)) {
            const t = inputs[topic];
            let list = byTopic.get(t);
            if (!list) byTopic.set(t, (list = []));
            list.push(m);
          }
          await producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, ms]) => ({ topic, messages: ms })),
          });
          sent = due;
        }
        await sleep(TICK_MS);
      }
    } finally {
      await producer.disconnect();
    }
    const sentRate = sent / ((performance.now() - start) / 1000);
    log(
      `run ${rep}/${opt.repeats}: sent ${fmt(sent)} records at ${fmt(sentRate)}/s; waiting for the processor`,
    );
    const timeout = sleep(120_000).then(() => {
      throw new Error(`the processor committed ${committed} of ${messages.length} records in 120 s`);
    });
    try {
      await Promise.race([done, timeout, running]);
    } finally {
      ac.abort();
      await running.catch(() => {});
    }

    // Kafka timestamps of the inputs, then each alert's latency from its newest input.
    const sentAt = new Map<string, number>();
    for (const t of logical)
      for (const m of await readTopic(brokers, inputs[t]))
        sentAt.set(`${inputs[t]}:${m.partition}:${m.offset}`, m.timestamp);
    const latencies: number[] = [];
    let alerts = 0;
    for (const topic of [outputs.alerts, outputs.testAlerts])
      for (const m of await readTopic(brokers, topic)) {
        alerts++;
        const a = alertSchema.parse(JSON.parse(m.value ?? 'null'));
        let newest = Number.NEGATIVE_INFINITY;
        for (const ev of a.evidence) {
          const at = sentAt.get(`${ev.topic}:${ev.partition}:${ev.offset}`);
          if (at !== undefined && at > newest) newest = at;
        }
        if (Number.isFinite(newest) && newest >= startedAt + opt.warmup * 1000)
          latencies.push(m.timestamp - newest);
      }
    latencies.sort((x, y) => x - y);
    const run: Run = {
      p50Ms: quantile(latencies, 0.5),
      p99Ms: quantile(latencies, 0.99),
      maxMs: latencies.length ? latencies[latencies.length - 1]! : Number.NaN,
      alerts,
      measured: latencies.length,
      sentRate,
    };
    log(
      `run ${rep}/${opt.repeats}: ${fmt(alerts)} alerts, ${fmt(run.measured)} measured: ` +
        `p50 ${fmt(run.p50Ms)} ms, p99 ${fmt(run.p99Ms)} ms, max ${fmt(run.maxMs)} ms`,
    );
    return run;
  } finally {
    await deleteTopics(brokers, prefix).catch(() => {});
  }
}

let kafka: KafkaBroker | null = null;
try {
  if (!process.env.KAFKA_BROKERS) log('KAFKA_BROKERS not set: starting a local broker');
  kafka = await startKafka();
  log(
    `Kafka at ${kafka.brokers.join(',')}; ${fmt(opt.events)} events at ${fmt(opt.rate)}/s, ` +
      `${fmt(opt.entities)} entities, ${opt.repeats} repeats`,
  );
  const runs: Run[] = [];
  for (let r = 1; r <= opt.repeats; r++) runs.push(await runOnce(kafka.brokers, r));
  const m = (k: keyof Run) => median(runs.map((x) => x[k]));
  const results = [
    {
      name: `alert latency p99 at ${opt.rate} events/s`,
      unit: 'ms',
      value: m('p99Ms'),
      reference: null,
      ratio: null,
    },
    { name: 'alert latency p50', unit: 'ms', value: m('p50Ms'), reference: null, ratio: null },
    { name: 'alert latency max', unit: 'ms', value: m('maxMs'), reference: null, ratio: null },
    {
      name: 'alerts measured (after the warm-up)',
      unit: 'alerts',
      value: m('measured'),
      reference: m('alerts'),
      ratio: m('measured') / m('alerts'),
    },
    {
      name: 'rate the producer reached',
      unit: 'events/s',
      value: m('sentRate'),
      reference: opt.rate,
      ratio: m('sentRate') / opt.rate,
    },
  ];
  printResults(results);
  writeBenchResults(
    'correlation-latency',
    {
      benchmark: 'correlation-latency',
      at: new Date().toISOString(),
      ...opt,
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
