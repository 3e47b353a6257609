// The reference: ethereum-etl 2.x, installed into a venv in the tributary cache, exporting blocks,
// transactions, receipts, logs and token transfers with its defaults (batches of 100, 5 workers).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheRoot } from '@tributary/testkit';
import { watchPeakRss } from './peak-rss.ts';

const ETL_VENV = join(cacheRoot(), 'ethereum-etl-venv');

export interface Run {
  seconds: number;
  peakRssMiB: number;
  /** CPU the node spent while this run read from it (the benchmark fills it in). */
  nodeCpuSeconds?: number;
}

/** The `ethereumetl` executable, installing it on first use. */
export function ensureEthereumEtl(): string {
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

/** The installed ethereum-etl version, for the results. */
export function ethereumEtlVersion(): string {
  const r = spawnSync(join(ETL_VENV, 'bin', 'pip'), ['show', 'ethereum-etl'], { encoding: 'utf8' });
  return /^Version: (.+)$/m.exec(r.stdout ?? '')?.[1] ?? 'unknown';
}

function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version']).status === 0;
}

function run(cmd: string, args: string[]): void {
  const { status, stderr } = spawnSync(cmd, args, { encoding: 'utf8' });
  if (status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr.slice(-2000)}`);
}

async function step(bin: string, args: string[]): Promise<number> {
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString('utf8')).slice(-4000)));
  const rss = watchPeakRss(child.pid!);
  const code = await new Promise<number | null>((r) => child.on('exit', r));
  const peak = rss.stop();
  if (code !== 0) throw new Error(`ethereumetl ${args[0]} exited with ${code}:\n${err}`);
  return peak;
}

/** One full export of blocks 0..head; wall time from the first step's start to the last one's exit, and
 * the largest peak RSS of the four steps. Checks the exported transaction count. */
export async function runEthereumEtl(bin: string, url: string, head: number, txCount: number): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), 'tributary-etl-'));
  const out = (f: string) => join(dir, f);
  try {
    const started = performance.now();
    const peaks = [
      await step(bin, [
        'export_blocks_and_transactions',
        ...['-s', '0', '-e', String(head), '-p', url],
        ...['--blocks-output', out('blocks.csv'), '--transactions-output', out('txs.csv')],
      ]),
      await step(bin, ['extract_csv_column', '-i', out('txs.csv'), '-c', 'hash', '-o', out('hashes.txt')]),
      await step(bin, [
        'export_receipts_and_logs',
        ...['--transaction-hashes', out('hashes.txt'), '-p', url],
        ...['--receipts-output', out('receipts.csv'), '--logs-output', out('logs.csv')],
      ]),
      await step(bin, [
        'extract_token_transfers',
        '--logs',
        out('logs.csv'),
        '--output',
        out('transfers.csv'),
      ]),
    ];
    const seconds = (performance.now() - started) / 1000;
    const lines = readFileSync(out('txs.csv'), 'utf8').trim().split('\n').length - 1;
    if (lines !== txCount)
      throw new Error(`ethereum-etl exported ${lines} transactions, expected ${txCount}`);
    return { seconds, peakRssMiB: Math.max(...peaks) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
