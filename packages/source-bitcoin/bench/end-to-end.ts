// End-to-end benchmark: a btcd regtest chain of BENCH_TXS payments (bench/regtest-chain.ts) streamed by
// the bitcoin source through the real worker runtime into Kafka with exactly-once transactions (inputs
// resolved, fees computed), against the synthetic source through the same runtime path with records of
// the same average size, count and batch shape, measured in the same run. The first bitcoin run is
// verified with a read_committed reader: every block, transaction and output exactly once.
// Each run is a fresh child process (peak RSS is its own high-water mark); medians of BENCH_RUNS.
// Prints a table; writes bench/results/bitcoin-end-to-end.json.
//
//   npm run bench -w @tributary/source-bitcoin      (env: BENCH_TXS, BENCH_OUTPUTS, BENCH_PER_BLOCK,
//                                                      BENCH_RUNS, BENCH_CPU_PROF, KAFKA_BROKERS)
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, createMetrics, parseConfig, resolveConnectors, startWorker } from '@tributary/runtime';
import { median, readTopic, startKafka, writeBenchResults } from '@tributary/testkit';
import { regtestChain, type ChainInfo } from './regtest-chain.ts';

const TXS = Number(process.env.BENCH_TXS ?? 20_000);
const OUTPUTS = Number(process.env.BENCH_OUTPUTS ?? 6);
const PER_BLOCK = Number(process.env.BENCH_PER_BLOCK ?? 1_500);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const here = dirname(fileURLToPath(import.meta.url));
/** The runtime's defaults: a transaction commits after 1000 records or 1 s, whichever comes first (a
 * bitcoin block is one source batch, so here every block is one Kafka transaction). */
const BATCH = { maxRecords: 1_000, maxMs: 1_000 };

interface ChildSpec {
  brokers: string[];
  connector: Record<string, unknown>;
}

interface RunResult {
  seconds: number;
  records: number;
  commits: number;
  peakRssMiB: number;
  prefix: string;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/** One worker run in this process (the child): wall time from worker start to all tasks done. */
async function runChild(spec: ChildSpec): Promise<RunResult> {
  const id = `b${randomUUID().slice(0, 8)}`;
  const cfg = parseConfig({
    kafka: { brokers: spec.brokers, transactionalIdPrefix: id },
    topics: { prefix: `${id}.`, offsetsTopic: `${id}.offsets`, partitions: 1 },
    worker: { http: false },
    connectors: [{ name: id, batch: BATCH, ...spec.connector }],
  });
  const connectors = await resolveConnectors(cfg, join(here, '..', 'package.json'));
  let records = 0;
  let commits = 0;
  const started = performance.now();
  const worker = startWorker({
    config: cfg,
    connectors,
    logger: createLogger({ level: 'warn' }),
    metrics: createMetrics(),
    signal: new AbortController().signal,
    onCommit: (_c, _t, n) => {
      records += n;
      commits++;
    },
  });
  await worker.done;
  const seconds = (performance.now() - started) / 1000;
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return { seconds, records, commits, peakRssMiB: hwm ? Number(hwm[1]) / 1024 : NaN, prefix: `${id}.` };
}

function runIsolated(spec: ChildSpec): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(
      process.execPath,
      [
        // BENCH_CPU_PROF=<dir>: a V8 CPU profile of every run (node --cpu-prof).
        ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
        '--import',
        'tsx',
        fileURLToPath(import.meta.url),
        '--child',
        JSON.stringify(spec),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) =>
      code === 0
        ? resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as RunResult)
        : reject(new Error(`bench child exited ${code}`)),
    );
  });
}

/** Every block, transaction and output of the range exactly once (read_committed); returns the
 * average serialized value size of all records, which the synthetic runs then use. */
async function verify(brokers: string[], prefix: string, info: ChainInfo): Promise<number> {
  const read = (t: string) => readTopic(brokers, `${prefix}${t}`, { timeoutMs: 300_000 });
  const [blocks, txs, transfers] = [
    await read('chain.blocks'),
    await read('chain.transactions'),
    await read('chain.transfers'),
  ];
  const distinct = (ms: { value: string | null }[], id: (v: Record<string, unknown>) => string) =>
    new Set(ms.map((m) => id(JSON.parse(m.value!) as Record<string, unknown>))).size;
  const checks: [string, number, number, number][] = [
    ['blocks', blocks.length, distinct(blocks, (v) => String(v['hash'])), info.blocks],
    ['transactions', txs.length, distinct(txs, (v) => String(v['hash'])), info.transactions],
    [
      'transfers',
      transfers.length,
      distinct(transfers, (v) => `${String(v['transactionHash'])}:${String(v['index'])}`),
      info.outputs,
    ],
  ];
  for (const [what, n, unique, expected] of checks)
    if (n !== expected || unique !== expected)
      throw new Error(`${what}: expected ${expected} exactly once, read ${n} (${unique} distinct)`);
  // Fees resolved: every non-coinbase transaction has one.
  const withoutFee = txs.filter((m) => (JSON.parse(m.value!) as { fee: string | null }).fee === null).length;
  if (withoutFee > 0) throw new Error(`${withoutFee} transactions without a fee`);
  const all = [...blocks, ...txs, ...transfers];
  const bytes = all.reduce((s, m) => s + Buffer.byteLength(m.value ?? ''), 0);
  console.log(
    `  verified: ${info.blocks} blocks, ${info.transactions} transactions, ${info.outputs} outputs exactly once (read_committed)`,
  );
  return bytes / all.length;
}

async function main() {
  const load0 = loadavg();
  console.log(
    `bitcoin end-to-end benchmark: ${TXS} payments x ${OUTPUTS} outputs, ${PER_BLOCK} per block, ${RUNS} runs (node ${process.version})`,
  );
  const kafka = await startKafka();
  const t0 = performance.now();
  const { info, node } = await regtestChain(
    { transactions: TXS, outputs: OUTPUTS, perBlock: PER_BLOCK },
    console.log,
  );
  console.log(
    `chain: heights ${info.firstHeight}..${info.lastHeight} (${info.blocks} blocks, ${info.transactions} transactions, ${info.outputs} outputs, ${(info.rawBytes / 1e6).toFixed(1)} MB raw), generated in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
  );
  const bitcoinConnector = {
    type: 'bitcoin',
    config: {
      network: 'regtest',
      backend: { kind: 'core-rpc', url: node.rpcUrl, username: node.rpcUser, password: node.rpcPass },
      finality: 'latest',
      startHeight: info.firstHeight,
      endHeight: info.lastHeight,
      // Inputs resolved (fees, from-addresses): the same block and the LRU serve all but the fan-out
      // transactions' coinbase inputs, which come from the node; no artificial rate limit.
      resolveInputs: { requestsPerSecond: 10_000 },
    },
  };
  const records = info.blocks + info.transactions + info.outputs;
  const btc: RunResult[] = [];
  const syn: RunResult[] = [];
  let recordBytes = 0;
  try {
    for (let i = 0; i < RUNS; i++) {
      btc.push(await runIsolated({ brokers: kafka.brokers, connector: bitcoinConnector }));
      const b = btc.at(-1)!;
      if (b.records !== records)
        throw new Error(`bitcoin run committed ${b.records} records, expected ${records}`);
      console.log(
        `  bitcoin run ${i + 1}: ${b.seconds.toFixed(2)} s, ${(info.transactions / b.seconds).toFixed(0)} tx/s, ${b.commits} commits, peak RSS ${b.peakRssMiB.toFixed(0)} MiB`,
      );
      if (i === 0) recordBytes = Math.round(await verify(kafka.brokers, b.prefix, info));
      syn.push(
        await runIsolated({
          brokers: kafka.brokers,
          connector: {
            type: 'synthetic',
            config: {
              partitions: 1,
              ratePerSec: 0,
              recordBytes,
              // The same batches as the bitcoin source yields: one per block, as many records.
              batchSize: Math.round(records / info.blocks),
              total: records,
            },
          },
        }),
      );
      const s = syn.at(-1)!;
      console.log(
        `  synthetic run ${i + 1}: ${s.seconds.toFixed(2)} s, ${(records / s.seconds).toFixed(0)} records/s of ${recordBytes} B, peak RSS ${s.peakRssMiB.toFixed(0)} MiB`,
      );
    }
  } finally {
    await node.close();
    await kafka.close();
  }

  const bSec = median(btc.map((r) => r.seconds));
  const sSec = median(syn.map((r) => r.seconds));
  const rows = [
    { metric: 'transactions/s', unit: 'tx/s', bitcoin: info.transactions / bSec, synthetic: null },
    { metric: 'records/s', unit: 'records/s', bitcoin: records / bSec, synthetic: records / sSec },
    {
      metric: 'MB/s (record values)',
      unit: 'MB/s',
      bitcoin: (records * recordBytes) / bSec / 1e6,
      synthetic: (records * recordBytes) / sSec / 1e6,
    },
    { metric: 'raw block MB/s', unit: 'MB/s', bitcoin: info.rawBytes / bSec / 1e6, synthetic: null },
    { metric: 'wall time', unit: 's', bitcoin: bSec, synthetic: sSec },
    {
      metric: 'peak RSS',
      unit: 'MiB',
      bitcoin: median(btc.map((r) => r.peakRssMiB)),
      synthetic: median(syn.map((r) => r.peakRssMiB)),
    },
  ].map((r) => ({
    ...r,
    bitcoin: round(r.bitcoin),
    synthetic: r.synthetic === null ? null : round(r.synthetic),
  }));
  const ratio = round(sSec / bSec, 3);

  console.log(
    `\n| metric | bitcoin source | synthetic source, same records | \n|---|---|---|\n${rows
      .map(
        (r) =>
          `| ${r.metric} | ${r.bitcoin} ${r.unit} | ${r.synthetic === null ? '-' : `${r.synthetic} ${r.unit}`} |`,
      )
      .join('\n')}`,
  );
  console.log(
    `\nbitcoin / synthetic throughput: ${ratio} (aim: >= 0.5, i.e. within 2x); ${records} records of ${recordBytes} B on average; medians of ${RUNS} runs`,
  );
  const load1 = loadavg();
  console.log(
    `load average: ${load0.map((l) => l.toFixed(1)).join(' ')} at start, ${load1.map((l) => l.toFixed(1)).join(' ')} at end`,
  );
  writeBenchResults('bitcoin-end-to-end', {
    benchmark: 'bitcoin-end-to-end',
    at: new Date().toISOString(),
    node: process.version,
    runs: RUNS,
    chain: info,
    records,
    averageRecordBytes: recordBytes,
    batch: BATCH,
    ratioBitcoinToSynthetic: ratio,
    loadAverage: { start: load0, end: load1 },
    results: rows,
    raw: { bitcoin: btc, synthetic: syn },
  });
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await runChild(JSON.parse(process.argv[3]!) as ChildSpec)));
  process.exit(0);
} else {
  await main();
}
