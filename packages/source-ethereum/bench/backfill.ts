// Backfill benchmark: a chain of BENCH_BLOCKS blocks x BENCH_TXS transactions (half ETH, half ERC-20
// transfers) written to Kafka by the real worker (exactly-once transactions), against ethereum-etl
// exporting the same range from the same node (blocks+transactions, receipts+logs, token transfers), on
// Hardhat 2 (one JavaScript thread, no eth_getBlockReceipts) and on geth in dev mode (Go, every core,
// eth_getBlockReceipts).
// Run: npm run bench -w @tributary/source-ethereum
//   env: BENCH_NODE=hardhat|geth|both (default both), BENCH_BLOCKS, BENCH_TXS, BENCH_RUNS,
//        BENCH_CPU_PROF=DIR (the worker writes V8 CPU profiles there)
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import {
  benchResultsPath,
  median,
  printTable,
  processGroupCpuSeconds,
  readTopic,
  spawnWorker,
  startGeth,
  startHardhat,
  startKafka,
  workerCli,
  writeBenchResults,
  writeConfig,
} from '@tributary/testkit';
import { ensureEthereumEtl, ethereumEtlVersion, runEthereumEtl, type Run } from './ethereum-etl.ts';
import { generateOnGeth, generateOnHardhat, type Chain, type ChainShape } from './generate-chain.ts';
import { watchPeakRss } from './peak-rss.ts';

type NodeKind = 'hardhat' | 'geth';
const SHAPE: ChainShape = {
  blocks: Number(process.env.BENCH_BLOCKS ?? 2_000),
  txs: Number(process.env.BENCH_TXS ?? 50),
};
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const NODES: NodeKind[] = (() => {
  const v = process.env.BENCH_NODE ?? 'both';
  if (v === 'both') return ['hardhat', 'geth'];
  if (v === 'hardhat' || v === 'geth') return [v];
  throw new Error(`BENCH_NODE must be hardhat, geth or both, not ${v}`);
})();
const CPU_PROF = process.env.BENCH_CPU_PROF;
const RESULTS = 'ethereum-backfill';

interface Row {
  name: string;
  unit: string;
  value: number;
  reference: number;
  ratio: number;
}

/** What one node's part of the run measured: the figures and what they were measured under. */
interface NodeResult {
  at: string;
  node: string;
  ethereumEtl: string;
  chainId: number;
  chain: Chain & { blocks: number; generatedInSeconds: number };
  loadAverage: { start: number[]; end: number[] };
  rows: Row[];
  runs: { tributary: Run[]; ethereumEtl: Run[] };
}

/** One backfill of blocks 0..head through the worker CLI; process start to exit. */
async function runTributary(
  brokers: string[],
  url: string,
  chainId: number,
  chain: Chain,
  verify: boolean,
): Promise<Run> {
  const id = randomUUID().slice(0, 8);
  const prefix = `b${id}.`;
  const file = writeConfig({
    kafka: { brokers, transactionalIdPrefix: `b${id}`, transactionTimeoutMs: 60_000 },
    topics: { prefix, offsetsTopic: `b${id}.offsets`, partitions: 1 },
    worker: { http: false },
    connectors: [
      {
        name: `eth-${id}`,
        type: 'ethereum',
        batch: { maxRecords: 5_000, maxMs: 1_000 },
        config: { url, chainId, finality: 'latest', startBlock: 0, endBlock: chain.head },
      },
    ],
  });
  const started = performance.now();
  const w = CPU_PROF ? profiledWorker(file, CPU_PROF) : spawnWorker(file, { env: { LOG_LEVEL: 'warn' } });
  const rss = watchPeakRss(w.child.pid!);
  const code = await w.exited;
  const seconds = (performance.now() - started) / 1000;
  const peakRssMiB = rss.stop();
  if (code !== 0) throw new Error(`worker exited with ${code}:\n${w.output().slice(-3000)}`);
  if (verify) {
    // Exactly once: every transaction committed, none twice.
    const txs = await readTopic(brokers, `${prefix}chain.transactions`, { timeoutMs: 300_000 });
    const hashes = new Set(txs.map((m) => (JSON.parse(m.value!) as { hash: string }).hash));
    if (txs.length !== chain.txCount || hashes.size !== chain.txCount)
      throw new Error(
        `expected ${chain.txCount} transactions exactly once, read ${txs.length} (${hashes.size} distinct)`,
      );
    console.log(`  verified: ${chain.txCount} transactions exactly once in ${prefix}chain.transactions`);
  }
  return { seconds, peakRssMiB };
}

/** The worker CLI as spawnWorker starts it, with V8's CPU profiler on (a flag NODE_OPTIONS refuses). */
function profiledWorker(file: string, dir: string) {
  const child = spawn(
    process.execPath,
    [
      `--cpu-prof`,
      `--cpu-prof-dir=${dir}`,
      '--import',
      'tsx',
      workerCli(),
      'run',
      '--config',
      file,
      '--no-progress',
    ],
    { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out = (out + d.toString('utf8')).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => out };
}

async function clientVersion(url: string): Promise<string> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'web3_clientVersion', params: [] }),
  });
  return ((await res.json()) as { result: string }).result;
}

async function startNode(kind: NodeKind) {
  if (kind === 'hardhat') {
    const node = await startHardhat({ blockGasLimit: 100_000_000 });
    return { ...node, generate: () => generateOnHardhat(node.url, SHAPE) };
  }
  const node = await startGeth();
  return { ...node, generate: () => generateOnGeth(node, SHAPE) };
}

async function benchNode(kind: NodeKind, brokers: string[], etl: string): Promise<NodeResult> {
  console.log(`\n== ${kind} ==`);
  const node = await startNode(kind);
  try {
    const t0 = performance.now();
    const chain = await node.generate();
    const generatedInSeconds = Math.round((performance.now() - t0) / 100) / 10;
    console.log(
      `chain: blocks 0..${chain.head}, ${chain.txCount} transactions (generated in ${generatedInSeconds} s)`,
    );
    // Not timed: a worker run over the first blocks. A fresh broker creates its transaction-state and
    // consumer-offsets topics (50 partitions each) on first use, which cost our first run seconds that no
    // later run (and no real deployment) pays; ethereum-etl does not use Kafka.
    await runTributary(brokers, node.url, node.chainId, { ...chain, head: Math.min(chain.head, 5) }, false);
    const start = loadavg().map(round);
    // Alternating, and in turns which one goes first: a change in the machine's load (it is shared) hits
    // both sides alike. Before each run the node must have gone quiet: right after generating, geth keeps
    // busy for a while (indexing, flushing), and that used to land on whichever exporter ran first.
    const ours: Run[] = [];
    const theirs: Run[] = [];
    const runOurs = async (i: number) => {
      await nodeQuiet(node.processGroup);
      ours.push(
        await withNodeCpu(node.processGroup, () =>
          runTributary(brokers, node.url, node.chainId, chain, i === 0),
        ),
      );
      console.log(`  tributary run ${i + 1}: ${fmt(ours.at(-1)!)}`);
    };
    const runTheirs = async (i: number) => {
      await nodeQuiet(node.processGroup);
      theirs.push(
        await withNodeCpu(node.processGroup, () => runEthereumEtl(etl, node.url, chain.head, chain.txCount)),
      );
      console.log(`  ethereum-etl run ${i + 1}: ${fmt(theirs.at(-1)!)}`);
    };
    for (let i = 0; i < RUNS; i++) {
      if (i % 2 === 0) {
        await runOurs(i);
        await runTheirs(i);
      } else {
        await runTheirs(i);
        await runOurs(i);
      }
    }
    const end = loadavg().map(round);
    return {
      at: new Date().toISOString(),
      node: await clientVersion(node.url),
      ethereumEtl: ethereumEtlVersion(),
      chainId: node.chainId,
      chain: { ...chain, blocks: chain.head + 1, generatedInSeconds },
      loadAverage: { start, end },
      rows: rows(chain, ours, theirs),
      runs: { tributary: ours.map(roundRun), ethereumEtl: theirs.map(roundRun) },
    };
  } finally {
    await node.close();
  }
}

function rows(chain: Chain, ours: Run[], theirs: Run[]): Row[] {
  const [sOurs, sTheirs] = [median(ours.map((r) => r.seconds)), median(theirs.map((r) => r.seconds))];
  const blocks = chain.head + 1;
  return [
    { name: 'blocks/s (median)', unit: 'blocks/s', value: blocks / sOurs, reference: blocks / sTheirs },
    { name: 'tx/s (median)', unit: 'tx/s', value: chain.txCount / sOurs, reference: chain.txCount / sTheirs },
    {
      name: 'peak RSS (median)',
      unit: 'MiB',
      value: median(ours.map((r) => r.peakRssMiB)),
      reference: median(theirs.map((r) => r.peakRssMiB)),
    },
    {
      // What each exporter cost the node: on 2 cores the node's CPU competes with the exporter's own.
      name: 'node CPU per run (median)',
      unit: 's',
      value: median(ours.map((r) => r.nodeCpuSeconds ?? Number.NaN)),
      reference: median(theirs.map((r) => r.nodeCpuSeconds ?? Number.NaN)),
    },
  ].map((r) => ({
    ...r,
    value: round(r.value),
    reference: round(r.reference),
    ratio: round(r.value / r.reference),
  }));
}

/** Results of nodes not run this time stay in the file (e.g. BENCH_NODE=geth keeps Hardhat's). */
function previousResults(): Record<string, unknown> {
  const file = benchResultsPath(RESULTS);
  if (!existsSync(file)) return {};
  const old = JSON.parse(readFileSync(file, 'utf8')) as unknown;
  if (Array.isArray(old))
    return { hardhat: { rows: old, note: 'an earlier run, before load and runs were recorded' } };
  return ((old as { nodes?: Record<string, unknown> }).nodes ?? {}) as Record<string, unknown>;
}

async function main() {
  console.log(
    `ethereum backfill benchmark: ${SHAPE.blocks} blocks x ${SHAPE.txs} txs on ${NODES.join(' and ')}, ${RUNS} runs each; load average ${loadavg().map(round).join(' ')}`,
  );
  const etl = ensureEthereumEtl();
  const kafka = await startKafka();
  const results: Partial<Record<NodeKind, NodeResult>> = {};
  try {
    for (const kind of NODES) results[kind] = await benchNode(kind, kafka.brokers, etl);
  } finally {
    await kafka.close();
  }

  for (const [kind, r] of Object.entries(results)) {
    console.log(
      `\n${kind} (${r.node}), ${r.chain.blocks} blocks, ${r.chain.txCount} transactions; load average ${r.loadAverage.start.join(' ')} -> ${r.loadAverage.end.join(' ')}`,
    );
    printTable([
      ['metric', 'tributary (Kafka, exactly-once)', `ethereum-etl ${r.ethereumEtl} (CSV)`, 'ratio'],
      ...r.rows.map((x) => [x.name, `${x.value} ${x.unit}`, `${x.reference} ${x.unit}`, `${x.ratio}x`]),
    ]);
  }
  console.log();
  writeBenchResults(RESULTS, {
    benchmark: RESULTS,
    shape: { blocksGenerated: SHAPE.blocks, txsPerBlock: SHAPE.txs, runs: RUNS },
    nodes: { ...previousResults(), ...results },
  });
}

const round = (x: number) => Math.round(x * 100) / 100;
const roundRun = (r: Run): Run => ({
  seconds: round(r.seconds),
  peakRssMiB: round(r.peakRssMiB),
  ...(r.nodeCpuSeconds === undefined ? {} : { nodeCpuSeconds: round(r.nodeCpuSeconds) }),
});
const fmt = (r: Run) =>
  `${r.seconds.toFixed(2)} s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB, node CPU ${r.nodeCpuSeconds?.toFixed(1) ?? '?'} s`;

/** Waits until the node's processes used under 5% of a core over a second (at most 60 s). */
async function nodeQuiet(processGroup: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const before = processGroupCpuSeconds(processGroup);
    await new Promise((r) => setTimeout(r, 1_000));
    const used = processGroupCpuSeconds(processGroup) - before;
    if (!(used >= 0.05)) return; // quiet, or no /proc to tell
  }
  console.log('  (the node did not go quiet within 60 s; running anyway)');
}

/** The run, with the CPU seconds the node spent serving it. */
async function withNodeCpu(processGroup: number, run: () => Promise<Run>): Promise<Run> {
  const before = processGroupCpuSeconds(processGroup);
  const r = await run();
  return { ...r, nodeCpuSeconds: processGroupCpuSeconds(processGroup) - before };
}

await main();
