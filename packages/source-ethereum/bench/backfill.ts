// Backfill benchmark: a Hardhat chain of BENCH_BLOCKS blocks x BENCH_TXS transactions (half ETH, half
// ERC-20 transfers) written to Kafka by the real worker (exactly-once transactions), against ethereum-etl
// exporting the same range from the same node (blocks+transactions, receipts+logs, token transfers).
// Run: npm run bench -w @tributary/source-ethereum   (env: BENCH_BLOCKS, BENCH_TXS, BENCH_RUNS)
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Interface, type InterfaceAbi } from 'ethers';
import {
  cacheRoot,
  median,
  readTopic,
  spawnWorker,
  startHardhat,
  startKafka,
  writeBenchResults,
  writeConfig,
} from '@tributary/testkit';

const BLOCKS = Number(process.env.BENCH_BLOCKS ?? 2_000);
const TXS = Number(process.env.BENCH_TXS ?? 50);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const here = dirname(fileURLToPath(import.meta.url));
const ETL_VENV = join(cacheRoot(), 'ethereum-etl-venv');

interface Run {
  seconds: number;
  peakRssMiB: number;
}

/** Polls a process's high-water RSS (VmHWM) until it exits. Linux only. */
function watchRss(pid: number): { stop(): number } {
  let peak = 0;
  const read = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) peak = Math.max(peak, Number(m[1]) / 1024);
    } catch {
      /* exited */
    }
  };
  const timer = setInterval(read, 100);
  return {
    stop: () => {
      read();
      clearInterval(timer);
      return peak;
    },
  };
}

async function generateChain(url: string): Promise<{ head: number; txCount: number }> {
  const post = async (body: unknown) =>
    (
      await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      })
    ).json() as Promise<unknown>;
  const call = async <T>(method: string, params: unknown[] = []) => {
    const r = (await post({ jsonrpc: '2.0', id: 1, method, params })) as { result?: T; error?: unknown };
    if (r.error) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
    return r.result as T;
  };
  const accounts = await call<string[]>('eth_accounts');
  const art = JSON.parse(readFileSync(join(here, '..', 'test', 'contracts', 'TestToken.json'), 'utf8')) as {
    abi: InterfaceAbi;
    bytecode: string;
  };
  const token = new Interface(art.abi);
  const deployTx = await call<string>('eth_sendTransaction', [
    { from: accounts[0], data: art.bytecode + token.encodeDeploy([10n ** 30n]).slice(2), gas: '0x2dc6c0' },
  ]);
  const tokenAddress = (await call<{ contractAddress: string }>('eth_getTransactionReceipt', [deployTx]))
    .contractAddress;
  await call('evm_setAutomine', [false]);
  for (let b = 0; b < BLOCKS; b++) {
    const batch = Array.from({ length: TXS }, (_, i) => ({
      jsonrpc: '2.0',
      id: i,
      method: 'eth_sendTransaction',
      params: [
        i % 2 === 0
          ? {
              from: accounts[1 + (i % 9)],
              to: accounts[10 + (i % 10)],
              value: `0x${(1_000 + b * TXS + i).toString(16)}`,
              gas: '0x5208',
            }
          : {
              from: accounts[0],
              to: tokenAddress,
              data: token.encodeFunctionData('transfer', [accounts[10 + (i % 10)], BigInt(b * TXS + i + 1)]),
              gas: '0x186a0',
            },
      ],
    }));
    const res = (await post(batch)) as { error?: unknown }[];
    const failed = res.find((r) => r.error);
    if (failed) throw new Error(`eth_sendTransaction: ${JSON.stringify(failed.error)}`);
    await call('evm_mine');
    if ((b + 1) % 500 === 0) console.log(`  generated ${b + 1}/${BLOCKS} blocks`);
  }
  const head = Number(await call<string>('eth_blockNumber'));
  return { head, txCount: 1 + BLOCKS * TXS };
}

async function runTributary(
  brokers: string[],
  url: string,
  head: number,
  verify: number | null,
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
        config: { url, chainId: 31337, finality: 'latest', startBlock: 0, endBlock: head },
      },
    ],
  });
  const started = performance.now();
  const w = spawnWorker(file, { env: { LOG_LEVEL: 'warn' } });
  const rss = watchRss(w.child.pid!);
  const code = await w.exited;
  const seconds = (performance.now() - started) / 1000;
  const peakRssMiB = rss.stop();
  if (code !== 0) throw new Error(`worker exited with ${code}:\n${w.output().slice(-3000)}`);
  if (verify !== null) {
    // Exactly once: every transaction committed, none twice.
    const txs = await readTopic(brokers, `${prefix}chain.transactions`, { timeoutMs: 300_000 });
    const hashes = new Set(txs.map((m) => (JSON.parse(m.value!) as { hash: string }).hash));
    if (txs.length !== verify || hashes.size !== verify)
      throw new Error(
        `expected ${verify} transactions exactly once, read ${txs.length} (${hashes.size} distinct)`,
      );
    console.log(`  verified: ${verify} transactions exactly once in ${prefix}chain.transactions`);
  }
  return { seconds, peakRssMiB };
}

function ensureEthereumEtl(): string {
  const bin = join(ETL_VENV, 'bin', 'ethereumetl');
  if (existsSync(bin)) return bin;
  // ethereum-etl 2.x pins eth-abi 2 / parsimonious 0.8, which need Python <= 3.10.
  const python = ['python3.10', 'python3.9', 'python3.8'].find(have);
  if (!python)
    throw new Error(
      `ethereum-etl needs Python <= 3.10 (parsimonious 0.8 uses inspect.getargspec); create ${ETL_VENV} by hand: python3.10 -m venv ${ETL_VENV} && ${ETL_VENV}/bin/pip install ethereum-etl`,
    );
  run(python, ['-m', 'venv', ETL_VENV]);
  run(join(ETL_VENV, 'bin', 'pip'), ['install', '-q', 'ethereum-etl']);
  return bin;
}

function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version']).status === 0;
}

function run(cmd: string, args: string[]): void {
  const { status, stderr } = spawnSync(cmd, args, { encoding: 'utf8' });
  if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.slice(-2000)}`);
}

async function runEtlStep(bin: string, args: string[]): Promise<number> {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-4000)));
  const rss = watchRss(child.pid!);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  const peak = rss.stop();
  if (code !== 0) throw new Error(`ethereumetl ${args[0]} exited with ${code}:\n${err}`);
  return peak;
}

async function runEthereumEtl(bin: string, url: string, head: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-etl-'));
  try {
    const started = performance.now();
    const peaks = [
      await runEtlStep(bin, [
        'export_blocks_and_transactions',
        '-s',
        '0',
        '-e',
        String(head),
        '-p',
        url,
        '--blocks-output',
        join(dir, 'blocks.csv'),
        '--transactions-output',
        join(dir, 'txs.csv'),
      ]),
      await runEtlStep(bin, [
        'extract_csv_column',
        '-i',
        join(dir, 'txs.csv'),
        '-c',
        'hash',
        '-o',
        join(dir, 'hashes.txt'),
      ]),
      await runEtlStep(bin, [
        'export_receipts_and_logs',
        '--transaction-hashes',
        join(dir, 'hashes.txt'),
        '-p',
        url,
        '--receipts-output',
        join(dir, 'receipts.csv'),
        '--logs-output',
        join(dir, 'logs.csv'),
      ]),
      await runEtlStep(bin, [
        'extract_token_transfers',
        '--logs',
        join(dir, 'logs.csv'),
        '--output',
        join(dir, 'transfers.csv'),
      ]),
    ];
    const seconds = (performance.now() - started) / 1000;
    const lines = readFileSync(join(dir, 'txs.csv'), 'utf8').trim().split('\n').length - 1;
    if (lines !== BLOCKS * TXS + 1)
      throw new Error(`ethereum-etl exported ${lines} transactions, expected ${BLOCKS * TXS + 1}`);
    return { seconds, peakRssMiB: Math.max(...peaks) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  console.log(
    `ethereum backfill benchmark: ${BLOCKS} blocks x ${TXS} txs, ${RUNS} runs each (home ${homedir()})`,
  );
  const etl = ensureEthereumEtl();
  const kafka = await startKafka();
  const node = await startHardhat({ blockGasLimit: 100_000_000 });
  try {
    const t0 = performance.now();
    const { head, txCount } = await generateChain(node.url);
    console.log(
      `chain: blocks 0..${head}, ${txCount} transactions (generated in ${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );

    const ours: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      ours.push(await runTributary(kafka.brokers, node.url, head, i === 0 ? txCount : null));
      console.log(
        `  tributary run ${i + 1}: ${ours.at(-1)!.seconds.toFixed(2)} s, peak RSS ${ours.at(-1)!.peakRssMiB.toFixed(0)} MiB`,
      );
    }
    const theirs: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      theirs.push(await runEthereumEtl(etl, node.url, head));
      console.log(
        `  ethereum-etl run ${i + 1}: ${theirs.at(-1)!.seconds.toFixed(2)} s, peak RSS ${theirs.at(-1)!.peakRssMiB.toFixed(0)} MiB`,
      );
    }

    const blocks = head + 1;
    const [sOurs, sTheirs] = [median(ours.map((r) => r.seconds)), median(theirs.map((r) => r.seconds))];
    const rows = [
      {
        name: 'ethereum backfill blocks/s (median)',
        unit: 'blocks/s',
        value: blocks / sOurs,
        reference: blocks / sTheirs,
      },
      {
        name: 'ethereum backfill tx/s (median)',
        unit: 'tx/s',
        value: txCount / sOurs,
        reference: txCount / sTheirs,
      },
      {
        name: 'ethereum backfill peak RSS (median)',
        unit: 'MiB',
        value: median(ours.map((r) => r.peakRssMiB)),
        reference: median(theirs.map((r) => r.peakRssMiB)),
      },
    ].map((r) => ({
      ...r,
      value: round(r.value),
      reference: round(r.reference),
      ratio: round(r.value / r.reference),
    }));

    console.log(
      '\n| metric | tributary (Kafka, exactly-once) | ethereum-etl 2.x (CSV files) | ratio |\n|---|---|---|---|',
    );
    for (const r of rows)
      console.log(`| ${r.name} | ${r.value} ${r.unit} | ${r.reference} ${r.unit} | ${r.ratio}x |`);
    console.log();
    writeBenchResults('ethereum-backfill', rows);
  } finally {
    await node.close();
    await kafka.close();
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

await main();
