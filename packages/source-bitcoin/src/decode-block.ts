// Raw block bytes -> a plain decoded block. bitcoinjs-lib parses the transactions; ids are hashed here
// from slices of the raw bytes, because `tx.getId()` re-serializes every transaction before hashing it.
import { Block, type Transaction } from 'bitcoinjs-lib';
import type { AddressParams } from './networks.ts';
import { merkleParent, sha256 } from './sha256.ts';
import { classifyOutputScript, hex, type ScriptType } from './script-types.ts';

export interface DecodedInput {
  /** Null for the coinbase input. */
  prevTxid: string | null;
  prevVout: number | null;
  sequence: number;
  witness: boolean;
  /** Coinbase input script, hex (miners write tags and the height here). */
  coinbase?: string;
}

export interface DecodedOutput {
  index: number;
  value: bigint;
  script: Uint8Array;
  type: ScriptType;
  address: string | null;
  data?: string;
  pubkey?: string;
}

export interface DecodedTransaction {
  index: number;
  txid: string;
  wtxid: string;
  version: number;
  locktime: number;
  size: number;
  vsize: number;
  weight: number;
  coinbase: boolean;
  inputs: DecodedInput[];
  outputs: DecodedOutput[];
}

export interface DecodedBlock {
  hash: string;
  parentHash: string;
  version: number;
  merkleRoot: string;
  /** Header time, seconds since the epoch. */
  time: number;
  bits: number;
  nonce: number;
  size: number;
  strippedSize: number;
  weight: number;
  transactions: DecodedTransaction[];
}

export class BlockDecodeError extends Error {
  override name = 'BlockDecodeError';
}

/** Decodes a raw block; throws BlockDecodeError when the bytes are not a well-formed block whose
 * transactions match its header's merkle root. */
export function decodeBlock(raw: Uint8Array, net: AddressParams): DecodedBlock {
  if (raw.length < 81) throw new BlockDecodeError(`block too short (${raw.length} bytes)`);
  let block: Block;
  try {
    block = Block.fromBuffer(raw);
  } catch (err) {
    throw new BlockDecodeError(`not a block: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const txs = block.transactions ?? [];
  if (txs.length === 0) throw new BlockDecodeError('block has no transactions');

  const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  let offset = 80 + varIntSize(bytes, 80);
  let strippedSize = offset;
  const txHashes: Buffer[] = [];
  const transactions: DecodedTransaction[] = [];
  for (let i = 0; i < txs.length; i++) {
    const tx = txs[i]!;
    const size = tx.byteLength(true);
    const base = tx.hasWitnesses() ? tx.byteLength(false) : size;
    const whole = bytes.subarray(offset, offset + size);
    const wtxHash = hash256([whole]);
    // Without witnesses the id is hash256 of version | ins and outs | locktime: skip the 2-byte
    // marker/flag and the witness section between outputs and locktime.
    // (The coinbase's wtxid is reported as hashed, like Bitcoin Core's `hash`; BIP 141 only zeroes it
    // inside the witness merkle tree.)
    const txHash =
      base === size
        ? wtxHash
        : hash256([whole.subarray(0, 4), whole.subarray(6, 6 + base - 8), whole.subarray(size - 4)]);
    txHashes.push(txHash);
    const weight = base * 3 + size;
    transactions.push(decodeTransaction(tx, i, reversedHex(txHash), reversedHex(wtxHash), size, weight, net));
    offset += size;
    strippedSize += base;
  }
  if (offset !== raw.length) throw new BlockDecodeError(`block has ${raw.length - offset} trailing bytes`);

  const merkleRoot = hex(block.merkleRoot ?? new Uint8Array(32));
  if (merkle(txHashes).toString('hex') !== merkleRoot)
    throw new BlockDecodeError('transactions do not match the merkle root');
  return {
    hash: reversedHex(hash256([bytes.subarray(0, 80)])),
    parentHash: reversedHex(Buffer.from(block.prevHash ?? new Uint8Array(32))),
    version: block.version,
    merkleRoot: reversedHex(Buffer.from(merkleRoot, 'hex')),
    time: block.timestamp,
    bits: block.bits,
    nonce: block.nonce,
    size: raw.length,
    strippedSize,
    weight: strippedSize * 3 + raw.length,
    transactions,
  };
}

function decodeTransaction(
  tx: Transaction,
  index: number,
  txid: string,
  wtxid: string,
  size: number,
  weight: number,
  net: AddressParams,
): DecodedTransaction {
  const coinbase = tx.isCoinbase();
  const inputs: DecodedInput[] = tx.ins.map((input) =>
    coinbase
      ? {
          prevTxid: null,
          prevVout: null,
          sequence: input.sequence,
          witness: input.witness.length > 0,
          coinbase: hex(input.script),
        }
      : {
          prevTxid: reversedHex(Buffer.from(input.hash)),
          prevVout: input.index,
          sequence: input.sequence,
          witness: input.witness.length > 0,
        },
  );
  const outputs: DecodedOutput[] = tx.outs.map((out, i) => ({
    index: i,
    value: out.value,
    script: out.script,
    ...classifyOutputScript(out.script, net),
  }));
  return {
    index,
    txid,
    wtxid,
    version: tx.version,
    locktime: tx.locktime,
    size,
    vsize: Math.ceil(weight / 4),
    weight,
    coinbase,
    inputs,
    outputs,
  };
}

function hash256(parts: Uint8Array[]): Buffer {
  return sha256(sha256(parts.length === 1 ? parts[0]! : Buffer.concat(parts)));
}

/** Bitcoin prints hashes byte-reversed. */
function reversedHex(b: Buffer): string {
  return Buffer.from(b).reverse().toString('hex');
}

function merkle(hashes: Buffer[]): Buffer {
  let level = hashes;
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      next.push(merkleParent(left, level[i + 1] ?? left));
    }
    level = next;
  }
  return level[0]!;
}

function varIntSize(b: Buffer, at: number): number {
  const first = b[at];
  return first === undefined ? 0 : first < 0xfd ? 1 : first === 0xfd ? 3 : first === 0xfe ? 5 : 9;
}
