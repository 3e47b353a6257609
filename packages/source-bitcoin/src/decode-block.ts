// Raw block bytes -> a plain decoded block, in one pass over the bytes. bitcoinjs-lib's Block.fromBuffer
// builds a Transaction per transaction and copies every script and hash out of the block, and its ids
// re-serialize each transaction before hashing it; here fields are read at their offsets, ids are hashed
// from the raw bytes, and each transaction's hex ids come from one hex conversion. The result is tested
// field by field against bitcoinjs-lib (test/decode-differential.test.ts) on real and generated blocks.
import type { AddressParams } from './networks.ts';
import { classifyScriptAt, asBuffer, type ScriptType } from './script-types.ts';
import { hash256, merkleRootInPlace } from './sha256.ts';

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
  /** The output script: a view into the raw block (not a copy). */
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

/** Smallest possible transaction: version, one input (36-byte outpoint, empty script, sequence), no
 * outputs, locktime. Bounds the counts read from varints before anything is allocated for them. */
const MIN_TX_BYTES = 4 + 1 + 41 + 1 + 4;
const MIN_INPUT_BYTES = 41;
const MIN_OUTPUT_BYTES = 9;

// Scratch space reused across calls (decoding is synchronous and never re-entered).
let ids = Buffer.alloc(64 * 32); // per transaction: txid, wtxid, prevTxids, byte-reversed, then to hex
let stripped = Buffer.alloc(64 * 1024); // a segwit transaction without its witness, for the txid
let inputAt = new Int32Array(64); // offset of each input of the current transaction
let inputWitness = new Uint8Array(64);
const header = Buffer.alloc(96);
const discard = Buffer.alloc(32);
/** Offset of the coinbase's witness reserved value (its one 32-byte witness item), or -1. */
let reservedAt = -1;

/** Decodes a raw block; throws BlockDecodeError when the bytes are not a well-formed block whose
 * transactions match its header's merkle root (and, with witness data, its witness commitment). */
export function decodeBlock(raw: Uint8Array, net: AddressParams): DecodedBlock {
  const b = asBuffer(raw);
  const end = b.length;
  if (end < 81) throw new BlockDecodeError(`block too short (${end} bytes)`);
  const r = { pos: 80 };
  const count = readCount(b, r, end, MIN_TX_BYTES, 'transaction count');
  if (count === 0) throw new BlockDecodeError('block has no transactions');

  // Natural-order txids and wtxids back to back (room for the merkle tree's duplicated last node).
  const txHashes = new Uint8Array((count + 1) * 32);
  const wtxHashes = new Uint8Array((count + 1) * 32);
  let witness = false;
  let strippedSize = r.pos;
  reservedAt = -1;
  const transactions: DecodedTransaction[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const tx = decodeTransaction(b, r, end, i, txHashes, wtxHashes, net);
    strippedSize += tx.base;
    if (tx.base !== tx.tx.size) witness = true;
    transactions[i] = tx.tx;
  }
  if (r.pos !== end) throw new BlockDecodeError(`block has ${end - r.pos} trailing bytes`);
  merkleRootInPlace(txHashes, count);
  for (let i = 0; i < 32; i++) {
    if (txHashes[i] !== b[36 + i]) throw new BlockDecodeError('transactions do not match the merkle root');
  }
  // The merkle root covers everything but witnesses; those are covered by the coinbase's witness
  // commitment (BIP 141), checked whenever the block carries witness data (a block without any has
  // nothing the merkle root leaves out, and pre-segwit blocks need no commitment).
  if (witness) checkWitnessCommitment(b, transactions[0]!, wtxHashes, count);

  // Header hash, parent and merkle root, byte-reversed into one buffer for a single hex conversion.
  hash256(b, 0, 80, discard, 0, header, 0);
  for (let i = 0; i < 32; i++) {
    header[32 + i] = b[35 - i]!;
    header[64 + i] = b[67 - i]!;
  }
  const hex = header.toString('hex');
  return {
    hash: hex.slice(0, 64),
    parentHash: hex.slice(64, 128),
    version: b.readInt32LE(0),
    merkleRoot: hex.slice(128, 192),
    time: b.readUInt32LE(68),
    bits: b.readUInt32LE(72),
    nonce: b.readUInt32LE(76),
    size: end,
    strippedSize,
    weight: strippedSize * 3 + end,
    transactions,
  };
}

interface Cursor {
  pos: number;
}

function decodeTransaction(
  b: Buffer,
  r: Cursor,
  end: number,
  index: number,
  txHashes: Uint8Array,
  wtxHashes: Uint8Array,
  net: AddressParams,
): { tx: DecodedTransaction; base: number } {
  const start = r.pos;
  need(b, start, 6, end);
  const version = u32(b, start);
  // BIP 144: marker 0x00 and flag 0x01 after the version mean a witness section follows the outputs
  // (bitcoinjs-lib's reading; any other marker/flag pair is read as the input count).
  const segwit = b[start + 4] === 0 && b[start + 5] === 1;
  r.pos = start + (segwit ? 6 : 4);
  const vinStart = r.pos;

  const inputCount = readCount(b, r, end, MIN_INPUT_BYTES, 'input count');
  if (inputCount > inputAt.length) {
    inputAt = new Int32Array(inputCount * 2);
    inputWitness = new Uint8Array(inputCount * 2);
  }
  for (let i = 0; i < inputCount; i++) {
    inputAt[i] = r.pos;
    need(b, r.pos, 36, end);
    r.pos += 36;
    const scriptLength = readLength(b, r, end);
    r.pos += scriptLength;
    need(b, r.pos, 4, end);
    r.pos += 4; // sequence
  }

  const outputCount = readCount(b, r, end, MIN_OUTPUT_BYTES, 'output count');
  const outputs: DecodedOutput[] = new Array(outputCount);
  for (let i = 0; i < outputCount; i++) {
    need(b, r.pos, 8, end);
    const value = i64(b, r.pos);
    r.pos += 8;
    const scriptLength = readLength(b, r, end);
    const s = r.pos;
    r.pos += scriptLength;
    const c = classifyScriptAt(b, s, r.pos, net);
    const out: DecodedOutput = {
      index: i,
      value,
      script: b.subarray(s, r.pos),
      type: c.type,
      address: c.address,
    };
    if (c.data !== undefined) out.data = c.data;
    if (c.pubkey !== undefined) out.pubkey = c.pubkey;
    outputs[i] = out;
  }
  const voutEnd = r.pos;

  if (segwit) {
    let any = false;
    for (let i = 0; i < inputCount; i++) {
      const items = readCount(b, r, end, 1, 'witness item count');
      inputWitness[i] = items > 0 ? 1 : 0;
      if (items > 0) any = true;
      if (index === 0 && i === 0 && items === 1 && b[r.pos] === 32) reservedAt = r.pos + 1;
      for (let k = 0; k < items; k++) {
        const length = readLength(b, r, end);
        r.pos += length;
      }
    }
    // As bitcoinjs-lib (and Bitcoin Core) reject it: a witness flag with nothing in it.
    if (!any) throw new BlockDecodeError(`transaction ${index} has superfluous witness data`);
  } else {
    inputWitness.fill(0, 0, inputCount);
  }
  need(b, r.pos, 4, end);
  const locktime = u32(b, r.pos);
  r.pos += 4;
  const size = r.pos - start;

  // ids: [txid, wtxid, prevTxid...] byte-reversed in `ids`, hex-converted once.
  const idBytes = (2 + inputCount) * 32;
  if (idBytes > ids.length) ids = Buffer.alloc(idBytes * 2);
  let base = size;
  if (segwit) {
    // The txid hashes the transaction without marker, flag and witnesses.
    base = 4 + (voutEnd - vinStart) + 4;
    if (base > stripped.length) stripped = Buffer.alloc(base * 2);
    copy(b, start, start + 4, stripped, 0);
    copy(b, vinStart, voutEnd, stripped, 4);
    copy(b, r.pos - 4, r.pos, stripped, base - 4);
    hash256(stripped, 0, base, txHashes, index * 32, ids, 0);
    // (The coinbase's wtxid is reported as hashed, like Bitcoin Core's `hash`; BIP 141 only zeroes it
    // inside the witness merkle tree.)
    hash256(b, start, r.pos, wtxHashes, index * 32, ids, 32);
  } else {
    hash256(b, start, r.pos, txHashes, index * 32, ids, 0);
    wtxHashes.set(txHashes.subarray(index * 32, index * 32 + 32), index * 32);
  }
  for (let i = 0; i < inputCount; i++) {
    const at = inputAt[i]!;
    const to = 64 + i * 32;
    for (let k = 0; k < 32; k++) ids[to + k] = b[at + 31 - k]!;
  }
  const hex = ids.toString('hex', 0, idBytes);
  const txid = hex.slice(0, 64);

  const coinbase = inputCount === 1 && isNullHash(b, inputAt[0]!);
  const inputs: DecodedInput[] = new Array(inputCount);
  for (let i = 0; i < inputCount; i++) {
    const at = inputAt[i]!;
    const sr = { pos: at + 36 };
    const scriptLength = readLength(b, sr, end);
    const sequence = u32(b, sr.pos + scriptLength);
    inputs[i] = coinbase
      ? {
          prevTxid: null,
          prevVout: null,
          sequence,
          witness: inputWitness[i] === 1,
          coinbase: b.toString('hex', sr.pos, sr.pos + scriptLength),
        }
      : {
          prevTxid: hex.slice(128 + i * 64, 192 + i * 64),
          prevVout: u32(b, at + 32),
          sequence,
          witness: inputWitness[i] === 1,
        };
  }
  const weight = base * 3 + size;
  return {
    base,
    tx: {
      index,
      txid,
      wtxid: segwit ? hex.slice(64, 128) : txid,
      version,
      locktime,
      size,
      vsize: Math.ceil(weight / 4),
      weight,
      coinbase,
      inputs,
      outputs,
    },
  };
}

/** BIP 141: the last coinbase output starting 6a24aa21a9ed commits to hash256(witness merkle root ||
 * the coinbase's witness reserved value), the root taken over wtxids with the coinbase's as zero. */
function checkWitnessCommitment(
  b: Buffer,
  coinbase: DecodedTransaction,
  wtxHashes: Uint8Array,
  count: number,
) {
  let commitment: Uint8Array | null = null;
  for (const o of coinbase.outputs) {
    const s = o.script;
    if (
      s.length >= 38 &&
      s[0] === 0x6a &&
      s[1] === 0x24 &&
      s[2] === 0xaa &&
      s[3] === 0x21 &&
      s[4] === 0xa9 &&
      s[5] === 0xed
    )
      commitment = s.subarray(6, 38);
  }
  if (commitment === null) throw new BlockDecodeError('block has witness data but no witness commitment');
  if (!coinbase.coinbase || reservedAt < 0)
    throw new BlockDecodeError('coinbase has no witness reserved value (one 32-byte witness item)');
  wtxHashes.fill(0, 0, 32);
  merkleRootInPlace(wtxHashes, count);
  const pair = wtxHashes.subarray(0, 64);
  pair.set(b.subarray(reservedAt, reservedAt + 32), 32);
  hash256(pair, 0, 64, pair, 0, discard, 0);
  for (let i = 0; i < 32; i++) {
    if (pair[i] !== commitment[i])
      throw new BlockDecodeError('witness data does not match the witness commitment');
  }
}

function need(b: Buffer, pos: number, n: number, end: number): void {
  if (pos + n > end)
    throw new BlockDecodeError(`truncated: needs ${n} bytes at offset ${pos}, block has ${b.length}`);
}

function u32(b: Buffer, p: number): number {
  return (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;
}

/** Signed 64-bit little-endian, as bitcoinjs-lib reads output values. */
function i64(b: Buffer, p: number): bigint {
  const lo = u32(b, p);
  const hi = b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24);
  // Every real amount is below 2^53: one exact double, one BigInt.
  if (hi >= 0 && hi < 0x200000) return BigInt(hi * 4294967296 + lo);
  return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo));
}

/** A CompactSize. Non-canonical encodings are rejected, as Bitcoin Core rejects them: with them a
 * transaction's size would depend on who re-serializes it. */
function readVarInt(b: Buffer, r: Cursor, end: number): number {
  need(b, r.pos, 1, end);
  const first = b[r.pos]!;
  if (first < 0xfd) {
    r.pos += 1;
    return first;
  }
  if (first === 0xfd) {
    need(b, r.pos, 3, end);
    const v = b[r.pos + 1]! | (b[r.pos + 2]! << 8);
    r.pos += 3;
    if (v < 0xfd) throw new BlockDecodeError(`non-canonical varint at offset ${r.pos - 3}`);
    return v;
  }
  if (first === 0xfe) {
    need(b, r.pos, 5, end);
    const v = u32(b, r.pos + 1);
    r.pos += 5;
    if (v <= 0xffff) throw new BlockDecodeError(`non-canonical varint at offset ${r.pos - 5}`);
    return v;
  }
  // A 64-bit length or count cannot fit in any block.
  throw new BlockDecodeError(`varint out of range at offset ${r.pos}`);
}

/** A byte length that must fit in what is left of the block. */
function readLength(b: Buffer, r: Cursor, end: number): number {
  const n = readVarInt(b, r, end);
  if (r.pos + n > end)
    throw new BlockDecodeError(`truncated: a ${n}-byte field at offset ${r.pos}, block has ${b.length}`);
  return n;
}

/** A count of items at least `minBytes` each: more than fit in the rest of the block is corrupt. */
function readCount(b: Buffer, r: Cursor, end: number, minBytes: number, what: string): number {
  const n = readVarInt(b, r, end);
  if (n * minBytes > end - r.pos)
    throw new BlockDecodeError(`${what} ${n} at offset ${r.pos} exceeds the block (${b.length} bytes)`);
  return n;
}

function isNullHash(b: Buffer, p: number): boolean {
  for (let i = 0; i < 32; i++) if (b[p + i] !== 0) return false;
  return true;
}

/** Small copies in JS (a call into C++ costs more than copying a few hundred bytes). */
function copy(src: Buffer, from: number, to: number, dst: Uint8Array, at: number): void {
  if (to - from > 512) {
    src.copy(dst, at, from, to);
    return;
  }
  for (let i = from; i < to; i++) dst[at++] = src[i]!;
}
