// Benchmark: synthetic source -> Kafka with exactly-once (records + offsets in one transaction per batch),
// against the broker's own ceiling measured in the same run with Kafka's ProducerPerformance (Java client,
// acks=all, idempotent, transactional). Prints a table; writes bench/results/runtime-exactly-once.json.
//
//   npm run bench -w @tributary/runtime            (REPEATS=3 by default; medians are reported)
import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  kafkaJars,
  createTopics,
  startKafka,
  DEFAULT_KAFKA_VERSION,
  median,
  printTable,
  writeBenchResults,
} from '@tributary/testkit';
import { createLogger } from '../src/logger.ts';
import { createMetrics } from '../src/metrics.ts';
import { parseConfig } from '../src/config.ts';
import { resolveConnectors } from '../src/registry.ts';
import { startWorker } from '../src/worker.ts';

const run = promisify(execFile);
const REPEATS = Number(process.env.REPEATS ?? 3);
const CASES = [
  { recordBytes: 200, txRecords: 1_000, total: 200_000 },
  { recordBytes: 200, txRecords: 10_000, total: 300_000 },
  { recordBytes: 1024, txRecords: 1_000, total: 100_000 },
  { recordBytes: 1024, txRecords: 10_000, total: 150_000 },
];

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

interface Ours {
  recordsPerSec: number;
  mbPerSec: number;
  commitP50: number;
  commitP99: number;
  peakRssMb: number;
}

async function runOurs(brokers: string[], c: (typeof CASES)[number], rep: number): Promise<Ours> {
  const id = `b${Date.now().toString(36)}${rep}`;
  const cfg = parseConfig({
    kafka: { brokers, transactionalIdPrefix: id },
    topics: { prefix: `${id}.`, offsetsTopic: `${id}.offsets`, partitions: 3 },
    worker: { http: false },
    connectors: [
      {
        name: id,
        type: 'synthetic',
        batch: { maxRecords: c.txRecords, maxMs: 5_000 },
        config: {
          partitions: 3,
          ratePerSec: 0,
          recordBytes: c.recordBytes,
          batchSize: Math.min(1000, c.txRecords),
          total: Math.ceil(c.total / 3),
        },
      },
    ],
  });
  const connectors = await resolveConnectors(cfg, join(process.cwd(), 'package.json'));
  const commits: number[] = [];
  let records = 0;
  let first = 0;
  let last = 0;
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);
  const ac = new AbortController();
  const worker = startWorker({
    config: cfg,
    connectors,
    logger: createLogger({ level: 'warn' }),
    metrics: createMetrics(),
    signal: ac.signal,
    onCommit: (_c, _t, n, ms) => {
      const now = performance.now();
      if (!first) first = now - ms;
      last = now;
      records += n;
      commits.push(ms);
    },
  });
  await worker.done;
  clearInterval(sampler);
  const secs = (last - first) / 1000;
  return {
    recordsPerSec: records / secs,
    mbPerSec: (records * c.recordBytes) / secs / 1e6,
    commitP50: pct(commits, 50),
    commitP99: pct(commits, 99),
    peakRssMb: peakRss / 1e6,
  };
}

/** Our side runs in a fresh process per run, so peak RSS is the worker's own, not the bench's history. */
function runOursIsolated(brokers: string[], caseIndex: number, rep: number): Promise<Ours> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--child', JSON.stringify({ brokers, caseIndex, rep })],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as Ours)
        : reject(new Error(`bench child exited ${code}`)),
    );
  });
}

async function producerPerformance(
  libs: string,
  brokers: string[],
  topic: string,
  c: (typeof CASES)[number],
  extra: string[],
) {
  const { stdout } = await run(
    'java',
    [
      '-Xmx512m',
      `-Dlog4j.configuration=file:/dev/null`,
      '-cp',
      `${libs}/*`,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(c.total),
      '--record-size',
      String(c.recordBytes),
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${brokers.join(',')}`,
      'acks=all',
      'enable.idempotence=true',
      ...extra,
    ],
    { maxBuffer: 64 * 1024 * 1024, timeout: 10 * 60_000 },
  );
  // Last summary line: "N records sent, X records/sec (Y MB/sec), ..."
  const m = /(\d+) records sent, ([\d.]+) records\/sec \(([\d.]+) MB\/sec\)/.exec(
    stdout.trim().split('\n').pop() ?? '',
  );
  if (!m) throw new Error(`cannot parse ProducerPerformance output:\n${stdout.slice(-1000)}`);
  return { recordsPerSec: Number(m[2]), mbPerSec: Number(m[3]) * 1.048576 };
}

async function main() {
  const kafka = await startKafka();
  const libs = kafka.libs ?? (await kafkaJars(process.env.KAFKA_VERSION ?? DEFAULT_KAFKA_VERSION));
  const results: {
    name: string;
    unit: string;
    value: number;
    ceiling: number | null;
    ratio: number | null;
  }[] = [];
  const table: string[][] = [
    ['case', 'ours rec/s', 'ceiling rec/s', 'ratio', 'MB/s', 'commit p50 ms', 'commit p99 ms', 'peak RSS MB'],
  ];
  try {
    for (const c of CASES) {
      const name = `${c.recordBytes}B x ${c.txRecords}/txn`;
      const ours: Ours[] = [];
      const ceil: { recordsPerSec: number; mbPerSec: number }[] = [];
      for (let rep = 0; rep < REPEATS; rep++) {
        process.stderr.write(`[${name}] run ${rep + 1}/${REPEATS}: tributary... `);
        ours.push(await runOursIsolated(kafka.brokers, CASES.indexOf(c), rep));
        // ProducerPerformance sizes transactions by time, not count: calibrate the duration so its
        // transactions hold about the same number of records as ours.
        const topic = `pp-${Date.now().toString(36)}-${rep}`;
        await createTopics(kafka.brokers, [{ topic, numPartitions: 3 }]);
        const probe = await producerPerformance(
          libs,
          kafka.brokers,
          topic,
          { ...c, total: Math.min(c.total, 50_000) },
          [],
        );
        const durationMs = Math.max(5, Math.round((c.txRecords / probe.recordsPerSec) * 1000));
        process.stderr.write(`ProducerPerformance (txn ${durationMs} ms)...\n`);
        ceil.push(
          await producerPerformance(libs, kafka.brokers, topic, c, [
            '--transactional-id',
            `pp-${topic}`,
            '--transaction-duration-ms',
            String(durationMs),
          ]),
        );
      }
      const o = {
        rps: median(ours.map((x) => x.recordsPerSec)),
        mbps: median(ours.map((x) => x.mbPerSec)),
        p50: median(ours.map((x) => x.commitP50)),
        p99: median(ours.map((x) => x.commitP99)),
        rss: median(ours.map((x) => x.peakRssMb)),
      };
      const ceilingRps = median(ceil.map((x) => x.recordsPerSec));
      const ceilingMbps = median(ceil.map((x) => x.mbPerSec));
      const ratio = o.rps / ceilingRps;
      table.push([
        name,
        o.rps.toFixed(0),
        ceilingRps.toFixed(0),
        ratio.toFixed(2),
        o.mbps.toFixed(1),
        o.p50.toFixed(1),
        o.p99.toFixed(1),
        o.rss.toFixed(0),
      ]);
      results.push(
        { name: `${name} throughput`, unit: 'records/s', value: o.rps, ceiling: ceilingRps, ratio },
        {
          name: `${name} bandwidth`,
          unit: 'MB/s',
          value: o.mbps,
          ceiling: ceilingMbps,
          ratio: o.mbps / ceilingMbps,
        },
        { name: `${name} commit latency p50`, unit: 'ms', value: o.p50, ceiling: null, ratio: null },
        { name: `${name} commit latency p99`, unit: 'ms', value: o.p99, ceiling: null, ratio: null },
        { name: `${name} peak RSS`, unit: 'MB', value: o.rss, ceiling: null, ratio: null },
      );
    }
  } finally {
    await kafka.close();
  }
  printTable(table);
  console.log(
    `\nmedians of ${REPEATS} runs; Kafka ${kafka.version ?? 'external'}; ceiling = org.apache.kafka.tools.ProducerPerformance (acks=all, idempotent, transactional)`,
  );
  writeBenchResults('runtime-exactly-once', {
    benchmark: 'runtime-exactly-once',
    at: new Date().toISOString(),
    repeats: REPEATS,
    kafka: kafka.version,
    node: process.version,
    results,
  });
}

if (process.argv[2] === '--child') {
  const { brokers, caseIndex, rep } = JSON.parse(process.argv[3]!) as {
    brokers: string[];
    caseIndex: number;
    rep: number;
  };
  console.log(JSON.stringify(await runOurs(brokers, CASES[caseIndex]!, rep)));
  process.exit(0);
} else {
  await main();
}
