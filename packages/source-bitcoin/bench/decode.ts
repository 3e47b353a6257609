// Decode throughput on one core: `npm run bench -w @tributary/source-bitcoin`.
//
// Inputs: the ~32 KiB mainnet block from the shared bitcoinjs-lib fixtures (2014, 103 transactions, mostly
// P2PKH); a mainnet-sized ~1.1 MB block made of its transactions repeated 32 times (coinbase once,
// merkle root recomputed); and a generated ~1.5 MB segwit block shaped like today's traffic (2-in/2-out
// P2WPKH spends paying P2WPKH and P2TR, witness commitment included; random hashes and signature bytes,
// so not mainnet data). Each pipeline turns raw bytes into ids, sizes, script types and addresses; the
// reference is the naive bitcoinjs-lib pipeline (Block.fromBuffer, tx.getId() and
// address.fromOutputScript per output), measured in the same run.
// Prints a table of medians (CPU time) and writes bench/results/bitcoin-decode.json.
import { createHash } from 'node:crypto';
import { loadavg } from 'node:os';
import * as ecc from 'tiny-secp256k1';
import { address, Block, initEccLib, networks, payments, Transaction } from 'bitcoinjs-lib';
import { addressParams, decodeBlock } from '../src/index.ts';
import { median, writeBenchResults } from '@tributary/testkit';
import { blockRecords } from '../src/records.ts';
import { block32k } from '../test/helpers/fixtures.ts';

// bitcoinjs-lib's p2tr (inside address.fromOutputScript) needs an ECC library.
initEccLib(ecc);

const RUNS = 7;
const RUN_MS = 1_000;
const net = addressParams('mainnet');

function naive(raw: Uint8Array): number {
  const block = Block.fromBuffer(raw);
  let n = 0;
  for (const tx of block.transactions ?? []) {
    n += tx.getId().length;
    for (const out of tx.outs) {
      try {
        n += address.fromOutputScript(out.script, networks.bitcoin).length;
      } catch {
        n += 1; // no address for this script type
      }
    }
  }
  return n;
}

const ours = (raw: Uint8Array) => decodeBlock(raw, net).transactions.length;
const oursWithRecords = (raw: Uint8Array) =>
  blockRecords('bitcoin:mainnet', 0, decodeBlock(raw, net), 'upsert', null).length;

/** MB/s of one timed run: as many decodes as fit in RUN_MS of this process's CPU time. CPU time, not wall
 * time: the machine is shared, and a descheduled process would otherwise measure its neighbours. The
 * pipelines are single-threaded (OpenSSL hashing included), so CPU time is one core's time. */
function run(fn: (raw: Uint8Array) => number, raw: Uint8Array): number {
  let bytes = 0;
  let sink = 0;
  const start = process.cpuUsage();
  let elapsedMs = 0;
  while (elapsedMs < RUN_MS) {
    // One decode per clock read: a block takes far longer than process.cpuUsage().
    sink += fn(raw);
    bytes += raw.length;
    const used = process.cpuUsage(start);
    elapsedMs = (used.user + used.system) / 1000;
  }
  if (sink === 0) throw new Error('nothing decoded');
  return bytes / 1e6 / (elapsedMs / 1000);
}

/** Repeats the block's non-coinbase transactions `times` times into one block with a valid merkle root. */
function repeatBlock(raw: Uint8Array, times: number): Uint8Array {
  const block = Block.fromBuffer(raw);
  const txs = block.transactions!;
  const all = [txs[0]!, ...Array.from({ length: times }, () => txs.slice(1)).flat()];
  const parts = all.map((t) => Buffer.from(t.toBuffer()));
  const hash256 = (b: Buffer) =>
    createHash('sha256').update(createHash('sha256').update(b).digest()).digest();
  let level: Buffer[] = parts.map(hash256);
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(hash256(Buffer.concat([level[i]!, level[i + 1] ?? level[i]!])));
    level = next;
  }
  const header = Buffer.from(raw.subarray(0, 80));
  level[0]!.copy(header, 36);
  const count = all.length;
  const varint = count < 0xfd ? Buffer.from([count]) : Buffer.from([0xfd, count & 0xff, count >> 8]);
  return Buffer.concat([header, varint, ...parts]);
}

/** ~1.5 MB of 2-in/2-out segwit transactions (P2WPKH inputs; P2WPKH and P2TR outputs). */
function segwitBlock(transactions: number): Uint8Array {
  let seed = 1;
  const bytes = (n: number) => {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    return b;
  };
  // Real x-only keys (bitcoinjs-lib's p2tr checks the point), reused.
  const keys = Array.from({ length: 64 }, (_, i) =>
    Buffer.from(ecc.pointFromScalar(Buffer.alloc(32, i + 1), true)!).subarray(1),
  );
  const txs: Transaction[] = [];
  const cb = new Transaction();
  cb.addInput(Buffer.alloc(32), 0xffffffff, 0xffffffff, bytes(40));
  cb.setWitness(0, [Buffer.alloc(32)]);
  cb.addOutput(payments.p2wpkh({ hash: bytes(20) }).output!, 312_500_000n);
  txs.push(cb);
  for (let t = 1; t < transactions; t++) {
    const tx = new Transaction();
    tx.version = 2;
    for (let i = 0; i < 2; i++) {
      tx.addInput(bytes(32), t % 3, 0xfffffffd);
      // DER signature + sighash byte, compressed key.
      tx.setWitness(i, [bytes(72), Buffer.concat([Buffer.from([2]), bytes(32)])]);
    }
    tx.addOutput(payments.p2wpkh({ hash: bytes(20) }).output!, BigInt(10_000 + t));
    tx.addOutput(payments.p2tr({ pubkey: keys[t % keys.length]! }).output!, BigInt(20_000 + t));
    txs.push(tx);
  }
  cb.addOutput(Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), Block.calculateMerkleRoot(txs, true)]), 0n);
  const block = new Block();
  block.version = 0x20000000;
  block.prevHash = bytes(32);
  block.timestamp = 1_700_000_000;
  block.bits = 0x17034219;
  block.transactions = txs;
  block.merkleRoot = Block.calculateMerkleRoot(txs);
  return block.toBuffer();
}

const load0 = loadavg();
const small = block32k();
const big = repeatBlock(small, 32);
if (decodeBlock(big, net).transactions.length !== 1 + 32 * 102)
  throw new Error('repeated block did not decode');
const segwit = segwitBlock(4_000);
if (decodeBlock(segwit, net).transactions.length !== 4_000) throw new Error('segwit block did not decode');

const mb = (raw: Uint8Array) => (raw.length / 1e6).toFixed(1);
const cases = [
  { name: 'decode 32 KiB mainnet block', raw: small, fn: ours },
  { name: `decode ${mb(big)} MB block (32 KiB block txs x32)`, raw: big, fn: ours },
  { name: `decode ${mb(segwit)} MB generated segwit block`, raw: segwit, fn: ours },
  { name: `decode + build records, ${mb(big)} MB block`, raw: big, fn: oursWithRecords },
  { name: `decode + build records, ${mb(segwit)} MB segwit block`, raw: segwit, fn: oursWithRecords },
];

const results: { name: string; unit: string; value: number; reference: number; ratio: number }[] = [];
for (const c of cases) {
  // Warm up both pipelines, then alternate runs so drift hits both alike.
  run(c.fn, c.raw);
  run(naive, c.raw);
  const mine: number[] = [];
  const ref: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    mine.push(run(c.fn, c.raw));
    ref.push(run(naive, c.raw));
  }
  const value = median(mine);
  const reference = median(ref);
  results.push({
    name: c.name,
    unit: 'MB/s',
    value: round(value),
    reference: round(reference),
    ratio: round(value / reference),
  });
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

console.log(
  `bitcoin decode throughput, one core, median of ${RUNS} runs of ${RUN_MS} ms CPU time (node ${process.version}, load average ${load0.map((l) => l.toFixed(1)).join(' ')} at start, ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} at end)`,
);
console.log(
  'reference = naive bitcoinjs-lib pipeline: Block.fromBuffer + tx.getId() + address.fromOutputScript',
);
console.table(
  results.map((r) => ({
    benchmark: r.name,
    'MB/s': r.value,
    'reference MB/s': r.reference,
    ratio: `${r.ratio}x`,
  })),
);
writeBenchResults('bitcoin-decode', {
  benchmark: 'bitcoin-decode',
  at: new Date().toISOString(),
  node: process.version,
  runs: RUNS,
  runMs: RUN_MS,
  loadAverage: { start: load0, end: loadavg() },
  results,
});
