// Benchmark: Salesforce CDC changes/s from the simulator at its maximum rate (a retained backlog replayed
// with -2) into Kafka with exactly-once, and Bulk API 2.0 snapshot rows/s, each against the same read
// without Kafka (jsforce alone) measured in the same run. The worker runs in a child process (the runtime
// as a library) so it does not share a core with the simulator. Prints a table; writes
// bench/results/salesforce.json. Kafka: KAFKA_BROKERS if set, else an embedded broker.
//
//   npm run bench -w @tributary/source-salesforce   (env: BENCH_EVENTS, BENCH_ROWS, REPEATS)
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Connection, OAuth2 } from 'jsforce';
import { StreamingExtension } from 'jsforce/api/streaming';
import { pino } from 'pino';
import {
  median,
  printTable,
  readTopic,
  startKafka,
  startSalesforceSimulator,
  writeBenchResults,
  type SalesforceSimulator,
} from '@tributary/testkit';
import { createLogger, createMetrics, parseConfig, resolveConnectors, startWorker } from '@tributary/runtime';
import { resultsPage, runQueryJob } from '../src/bulk.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 50_000);
const ROWS = Number(process.env.BENCH_ROWS ?? 200_000);
const REPEATS = Number(process.env.REPEATS ?? 3);

interface ChildArgs {
  kind: 'cdc' | 'snapshot' | 'cdc-ceiling' | 'snapshot-ceiling';
  brokers: string[];
  url: string;
  clientId: string;
  clientSecret: string;
  username: string;
  privateKey: string;
  n: number;
  id: string;
}

interface Measured {
  perSec: number;
  seconds: number;
  peakRssMb: number;
}

/** The worker (runtime as a library) with one Salesforce connector, until `n` records are committed. */
async function runWorker(a: ChildArgs): Promise<Measured> {
  const cfg = parseConfig({
    kafka: { brokers: a.brokers, transactionalIdPrefix: a.id },
    topics: { prefix: `${a.id}.`, offsetsTopic: `${a.id}.offsets`, partitions: 3 },
    worker: { http: false },
    connectors: [
      {
        name: a.id,
        type: 'salesforce',
        batch: { maxRecords: 5_000, maxMs: 1_000 },
        config: {
          loginUrl: a.url,
          auth: { type: 'jwt', clientId: a.clientId, username: a.username, privateKey: a.privateKey },
          objects: [{ name: 'Account' }],
          start: a.kind === 'cdc' ? -2 : 'snapshot',
          bulk: { pollIntervalMs: 200, pageSize: 10_000 },
        },
      },
    ],
  });
  const connectors = await resolveConnectors(cfg, join(process.cwd(), 'package.json'));
  // Steady state: from the end of the first commit to the end of the last, records after the first.
  let records = 0;
  let firstRecords = 0;
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
    onCommit: (_c, _t, n) => {
      if (n === 0) return;
      const now = performance.now();
      if (!first) {
        first = now;
        firstRecords = n;
      }
      last = now;
      records += n;
      if (records >= a.n) ac.abort();
    },
  });
  await worker.done;
  clearInterval(sampler);
  const seconds = (last - first) / 1000;
  return { perSec: (records - firstRecords) / seconds, seconds, peakRssMb: peakRss / 1e6 };
}

async function connect(a: ChildArgs): Promise<Connection> {
  const t = await new OAuth2({
    loginUrl: a.url,
    clientId: a.clientId,
    clientSecret: a.clientSecret,
  }).requestToken({
    grant_type: 'client_credentials',
  });
  return new Connection({ instanceUrl: t.instance_url, accessToken: t.access_token, version: '60.0' });
}

/** jsforce's streaming client alone: the backlog replayed with -2, counted, no Kafka. */
async function cdcCeiling(a: ChildArgs): Promise<Measured> {
  const conn = await connect(a);
  const started = performance.now();
  let first = 0;
  await new Promise<void>((done) => {
    let n = 0;
    const client = conn.streaming.createClient([
      new StreamingExtension.Replay('/data/AccountChangeEvent', -2),
    ]) as unknown as { subscribe(ch: string, cb: () => void): unknown; disconnect(): void };
    client.subscribe('/data/AccountChangeEvent', () => {
      if (!first) first = performance.now();
      if (++n === a.n) {
        client.disconnect();
        done();
      }
    });
  });
  const seconds = (performance.now() - (first || started)) / 1000;
  return { perSec: a.n / seconds, seconds, peakRssMb: process.memoryUsage().rss / 1e6 };
}

/** The same Bulk job read page by page (jsforce, CSV parsed), no Kafka. */
async function snapshotCeiling(a: ChildArgs): Promise<Measured> {
  const conn = await connect(a);
  const o = {
    pollIntervalMs: 200,
    pollTimeoutMs: 600_000,
    retries: 3,
    signal: new AbortController().signal,
    logger: pino({ level: 'silent' }),
  };
  const job = await runQueryJob(
    conn,
    'SELECT Id, IsDeleted, CreatedDate, LastModifiedDate, LastModifiedById, SystemModstamp, Name, Industry, AnnualRevenue, Phone FROM Account',
    'query',
    o,
  );
  // Steady state, as for the worker: from the first page on, rows after it.
  let rows = 0;
  let firstRows = 0;
  let first = 0;
  let locator: string | null = null;
  do {
    const p = await resultsPage(conn, job.id, locator, 10_000, o);
    rows += p.rows.length;
    if (!first) {
      first = performance.now();
      firstRows = rows;
    }
    locator = p.next;
  } while (locator);
  const seconds = (performance.now() - first) / 1000;
  return { perSec: (rows - firstRows) / seconds, seconds, peakRssMb: process.memoryUsage().rss / 1e6 };
}

function runChild(a: ChildArgs): Promise<Measured> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--child', JSON.stringify(a)],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as Measured)
        : reject(new Error(`bench child (${a.kind}) exited ${code}`)),
    );
  });
}

async function verify(brokers: string[], id: string, n: number, snapshot: boolean): Promise<void> {
  const ms = await readTopic(brokers, `${id}.crm.changes`, { timeoutMs: 300_000 });
  const keys = new Set(
    ms.map((m) => {
      const v = JSON.parse(m.value!) as { recordId: string; sourcePosition: string; changeType: string };
      return snapshot ? v.recordId : `${v.recordId}@${v.sourcePosition}`;
    }),
  );
  if (ms.length < n || keys.size !== ms.length)
    throw new Error(
      `expected ${n} records exactly once in ${id}.crm.changes, read ${ms.length} (${keys.size} distinct)`,
    );
  console.error(`  verified: ${ms.length} records exactly once in ${id}.crm.changes`);
}

async function main() {
  const keys = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  // The machine may be shared: the load average goes into the results next to the figures.
  const loadBefore = loadavg()[0]!;
  const kafka = await startKafka();
  const sims: SalesforceSimulator[] = [];
  const start = (o: Parameters<typeof startSalesforceSimulator>[0]) =>
    startSalesforceSimulator({ app: { jwtPublicKey: keys.publicKey }, ...o }).then((s) => (sims.push(s), s));
  const rows: string[][] = [
    ['case', 'tributary (Kafka, exactly-once)', 'jsforce alone (no Kafka)', 'ratio', 'peak RSS MB'],
  ];
  const results: {
    name: string;
    unit: string;
    value: number;
    reference: number;
    ratio: number;
    peakRssMb: number;
  }[] = [];
  try {
    // CDC: a backlog of single-record change events (creates and updates), replayed at full speed.
    const cdcSim = await start({ maxEventsPerConnect: 1000, seed: 11 });
    const ids: string[] = [];
    for (let i = 0; i < EVENTS; i++) {
      if (i % 4 === 0 || ids.length === 0)
        cdcSim.transaction((tx) =>
          ids.push(tx.create('Account', { Name: `acct-${i}`, Industry: 'Finance', Phone: '555-0100' })),
        );
      else
        cdcSim.transaction((tx) =>
          tx.update('Account', ids[i % ids.length]!, { Name: `acct-${i}`, AnnualRevenue: i }),
        );
    }
    // Snapshot: rows that predate CDC (no events), read through one Bulk 2.0 job.
    const bulkSim = await start({ bulkJobDelayMs: 200, bulkPageSize: 10_000 });
    for (let i = 0; i < ROWS; i += 10_000)
      bulkSim.org.seed(
        'Account',
        Array.from({ length: Math.min(10_000, ROWS - i) }, (_, j) => ({
          Name: `Account ${i + j}`,
          Industry: 'Finance',
          AnnualRevenue: i + j,
          Phone: '+1 555 0100',
        })),
      );
    const args = (s: SalesforceSimulator, kind: ChildArgs['kind'], n: number): ChildArgs => ({
      kind,
      brokers: kafka.brokers,
      url: s.url,
      clientId: s.app.clientId,
      clientSecret: s.app.clientSecret,
      username: s.users[0]!.username,
      privateKey: keys.privateKey,
      n,
      id: `sfb${randomUUID().slice(0, 8)}`,
    });
    for (const [name, unit, sim, kind, n] of [
      ['CDC changes -> crm.changes', 'changes/s', cdcSim, 'cdc', EVENTS],
      ['Bulk 2.0 snapshot -> crm.changes', 'rows/s', bulkSim, 'snapshot', ROWS],
    ] as const) {
      const ours: Measured[] = [];
      const ceiling: Measured[] = [];
      for (let rep = 0; rep < REPEATS; rep++) {
        const a = args(sim, kind, n);
        process.stderr.write(`[${name}] run ${rep + 1}/${REPEATS}: tributary... `);
        ours.push(await runChild(a));
        process.stderr.write(`${ours.at(-1)!.perSec.toFixed(0)} ${unit}; jsforce alone... `);
        ceiling.push(await runChild({ ...a, kind: kind === 'cdc' ? 'cdc-ceiling' : 'snapshot-ceiling' }));
        process.stderr.write(`${ceiling.at(-1)!.perSec.toFixed(0)} ${unit}\n`);
        if (rep === 0) await verify(kafka.brokers, a.id, n, kind === 'snapshot');
      }
      const value = median(ours.map((x) => x.perSec));
      const reference = median(ceiling.map((x) => x.perSec));
      const peakRssMb = median(ours.map((x) => x.peakRssMb));
      rows.push([
        `${name} (${n})`,
        `${value.toFixed(0)} ${unit}`,
        `${reference.toFixed(0)} ${unit}`,
        (value / reference).toFixed(2),
        peakRssMb.toFixed(0),
      ]);
      results.push({
        name,
        unit,
        value: Math.round(value),
        reference: Math.round(reference),
        ratio: Math.round((value / reference) * 100) / 100,
        peakRssMb: Math.round(peakRssMb),
      });
    }
  } finally {
    for (const s of sims) await s.close();
    await kafka.close();
  }
  printTable(rows);
  console.log(
    `\nmedians of ${REPEATS} runs; Kafka ${kafka.version ?? 'external'}; worker in a child process (runtime as a library), simulator in this one; load average ${loadBefore.toFixed(1)} -> ${loadavg()[0]!.toFixed(1)}`,
  );
  writeBenchResults('salesforce', {
    benchmark: 'salesforce',
    at: new Date().toISOString(),
    repeats: REPEATS,
    events: EVENTS,
    rows: ROWS,
    kafka: kafka.version ?? 'external',
    node: process.version,
    loadAverage1m: { before: loadBefore, after: loadavg()[0]! },
    results,
  });
}

if (process.argv[2] === '--child') {
  const a = JSON.parse(process.argv[3]!) as ChildArgs;
  const run = {
    cdc: runWorker,
    snapshot: runWorker,
    'cdc-ceiling': cdcCeiling,
    'snapshot-ceiling': snapshotCeiling,
  }[a.kind];
  console.log(JSON.stringify(await run(a)));
  process.exit(0);
} else {
  await main();
}
