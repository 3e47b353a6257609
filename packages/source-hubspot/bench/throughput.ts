// Benchmark: HubSpot changes/s from the simulator into Kafka with exactly-once (records and offsets in one
// transaction), through the real worker (in a child process; the simulator runs in this one). Cases: the
// simulator with no rate limit (the source's own ceiling), updates whose sensitive property history is
// read (batch reads, 50 per call), and HubSpot's real limits (search 5/s, where 4/s x 200 per page bounds
// the rate at 800/s). Prints a table and writes bench/results/hubspot.json (medians of BENCH_RUNS runs).
//
//   npm run bench -w @tributary/source-hubspot      (KAFKA_BROKERS to use a running cluster)
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import {
  median,
  printTable,
  startHubSpotSimulator,
  startKafka,
  writeBenchResults,
  type HubSpotLimits,
} from '@tributary/testkit';

const RUNS = Number(process.env.BENCH_RUNS ?? 3);
/** Which cases to run, e.g. `BENCH_CASES=0,2` (default: all). */
const ONLY = process.env.BENCH_CASES?.split(',').map(Number);

interface Case {
  name: string;
  records: number;
  /** Each record is created then updated once (its version is an update: history is read). */
  updates: boolean;
  sensitive: string[];
  simLimits: Partial<HubSpotLimits>;
  sourceLimits: { searchPerSecond: number; requestsPerTenSeconds: number };
}

const OFF = { searchPerSecond: 0, tenSecondly: 0 };
const CASES: Case[] = [
  {
    name: 'creates, simulator unthrottled',
    records: 60_000,
    updates: false,
    sensitive: [],
    simLimits: OFF,
    sourceLimits: { searchPerSecond: 1_000, requestsPerTenSeconds: 100_000 },
  },
  {
    name: 'updates + history, unthrottled',
    records: 30_000,
    updates: true,
    sensitive: ['email', 'phone'],
    simLimits: OFF,
    sourceLimits: { searchPerSecond: 1_000, requestsPerTenSeconds: 100_000 },
  },
  {
    name: 'creates, HubSpot limits',
    records: 12_000,
    updates: false,
    sensitive: [],
    simLimits: { searchPerSecond: 5, tenSecondly: 100 },
    sourceLimits: { searchPerSecond: 4, requestsPerTenSeconds: 100 },
  },
];

interface Run {
  records: number;
  /** Epoch ms of the last commit. */
  lastCommitAt: number;
  commitP50: number;
  peakRssMb: number;
}

interface Measured extends Run {
  recordsPerSec: number;
  seconds: number;
}

/** The worker side: runs in a child process so its CPU and RSS are its own. */
async function child(arg: { brokers: string[]; url: string; c: Case; rep: number }): Promise<Run> {
  const { parseConfig, resolveConnectors, startWorker, createLogger, createMetrics } =
    await import('@tributary/runtime');
  const id = `hb${Date.now().toString(36)}${arg.rep}`;
  const cfg = parseConfig({
    kafka: { brokers: arg.brokers, transactionalIdPrefix: id },
    topics: { prefix: `${id}.`, offsetsTopic: `${id}.offsets`, partitions: 3 },
    worker: { http: false },
    connectors: [
      {
        name: id,
        type: 'hubspot',
        batch: { maxRecords: 1_000, maxMs: 1_000 },
        config: {
          baseUrl: arg.url,
          auth: { kind: 'private-app', accessToken: 'pat-sim' },
          objects: [
            { type: 'contacts', properties: ['email', 'firstname'], sensitiveProperties: arg.c.sensitive },
          ],
          rateLimits: arg.c.sourceLimits,
          archived: { intervalMs: 600_000 },
        },
      },
    ],
  });
  const connectors = await resolveConnectors(cfg, join(process.cwd(), 'package.json'));
  const ac = new AbortController();
  const commits: number[] = [];
  let records = 0;
  let lastCommitAt = 0;
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const worker = startWorker({
    config: cfg,
    connectors,
    logger: createLogger({ level: 'warn' }),
    metrics: createMetrics(),
    signal: ac.signal,
    onCommit: (_c, _t, n, ms) => {
      lastCommitAt = Date.now();
      records += n;
      commits.push(ms);
      if (records >= arg.c.records) ac.abort();
    },
  });
  await worker.done;
  clearInterval(sampler);
  if (records < arg.c.records) throw new Error(`only ${records} of ${arg.c.records} records`);
  return { records, lastCommitAt, commitP50: median(commits), peakRssMb: peak / 1e6 };
}

function runChild(brokers: string[], url: string, c: Case, rep: number): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--child', JSON.stringify({ brokers, url, c, rep })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('exit', (code) =>
      code === 0
        ? resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as Run)
        : reject(new Error(`bench child exited ${code}`)),
    );
  });
}

async function main() {
  const kafka = await startKafka();
  const rows: string[][] = [
    ['case', 'records', 'changes/s', 'seconds', 'search calls', 'commit p50 ms', 'peak RSS MB'],
  ];
  const results: { name: string; unit: string; value: number; runs: number[] }[] = [];
  try {
    for (const c of CASES.filter((_, i) => !ONLY || ONLY.includes(i))) {
      const runs: Measured[] = [];
      const searches: number[] = [];
      for (let rep = 0; rep < RUNS; rep++) {
        process.stderr.write(`[${c.name}] run ${rep + 1}/${RUNS}\n`);
        const sim = await startHubSpotSimulator({ limits: c.simLimits });
        const t0 = Date.now() - 7_200_000;
        for (let i = 0; i < c.records; i++) {
          const at = t0 + Math.floor(i / 2) * 3;
          const v = sim.create(
            'contacts',
            { email: `c${i}@x.io`, firstname: `n${i}`, phone: String(i) },
            { at },
          );
          if (c.updates) sim.update('contacts', v.id, { email: `u${i}@x.io` }, { at: at + 1 });
        }
        // The clock starts at the first search the worker makes (its startup is not the source's work)
        // and stops at the commit of the last change.
        let firstSearchAt = 0;
        const watch = setInterval(() => {
          if (!firstSearchAt && sim.stats.searches > 0) firstSearchAt = Date.now();
        }, 5);
        try {
          const r = await runChild(kafka.brokers, sim.url, c, rep);
          const seconds = (r.lastCommitAt - firstSearchAt) / 1000;
          runs.push({ ...r, seconds, recordsPerSec: r.records / seconds });
          searches.push(sim.stats.searches);
        } finally {
          clearInterval(watch);
          await sim.close();
        }
      }
      const rps = median(runs.map((r) => r.recordsPerSec));
      rows.push([
        c.name,
        String(c.records),
        rps.toFixed(0),
        median(runs.map((r) => r.seconds)).toFixed(1),
        String(median(searches)),
        median(runs.map((r) => r.commitP50)).toFixed(1),
        median(runs.map((r) => r.peakRssMb)).toFixed(0),
      ]);
      results.push(
        {
          name: `${c.name} throughput`,
          unit: 'changes/s',
          value: rps,
          runs: runs.map((r) => r.recordsPerSec),
        },
        {
          name: `${c.name} peak RSS`,
          unit: 'MB',
          value: median(runs.map((r) => r.peakRssMb)),
          runs: runs.map((r) => r.peakRssMb),
        },
      );
    }
  } finally {
    await kafka.close();
  }
  printTable(rows);
  console.log(
    `\nmedians of ${RUNS} runs; worker in its own process, exactly-once transactions of up to 1,000 records`,
  );
  writeBenchResults('hubspot', {
    benchmark: 'hubspot',
    at: new Date().toISOString(),
    runs: RUNS,
    kafka: kafka.version ?? 'external',
    node: process.version,
    results,
  });
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await child(JSON.parse(process.argv[3]!) as Parameters<typeof child>[0])));
  process.exit(0);
} else {
  await main();
}
