// Random but well-formed blocks, built and serialized with bitcoinjs-lib, for differential tests of the
// decoder: every script template (and near misses of each), witness and non-witness transactions,
// coinbase inputs, extreme field values, large varints. Seeded, so a failure reproduces.
import { Block, Transaction, payments, type Network } from 'bitcoinjs-lib';
import * as ecc from 'tiny-secp256k1';

export type Rng = () => number;

/** mulberry32: small, seedable, good enough to pick shapes. */
export function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const int = (r: Rng, n: number) => Math.floor(r() * n);
const u32 = (r: Rng) => int(r, 2 ** 32);
const bytes = (r: Rng, n: number) => Buffer.from(Array.from({ length: n }, () => int(r, 256)));
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** A compressed or uncompressed public key (bitcoinjs-lib's payments check that it is a point). */
function pubkey(r: Rng, compressed = r() < 0.7): Buffer {
  for (;;) {
    const priv = bytes(r, 32);
    if (!ecc.isPrivate(priv)) continue;
    return Buffer.from(ecc.pointFromScalar(priv, compressed)!);
  }
}

function xOnly(r: Rng): Buffer {
  return pubkey(r, true).subarray(1);
}

function push(data: Buffer): Buffer {
  const n = data.length;
  if (n <= 75) return Buffer.concat([Buffer.from([n]), data]);
  if (n <= 0xff) return Buffer.concat([Buffer.from([0x4c, n]), data]);
  const len = Buffer.alloc(2);
  len.writeUInt16LE(n);
  return Buffer.concat([Buffer.from([0x4d]), len, data]);
}

/** An output script of a random kind: every template, some near misses, junk. */
export function randomScript(r: Rng, network: Network): Buffer {
  const kind = int(r, 16);
  switch (kind) {
    case 0:
    case 1:
      return Buffer.from(payments.p2pkh({ hash: bytes(r, 20), network }).output!);
    case 2:
      return Buffer.from(payments.p2sh({ hash: bytes(r, 20), network }).output!);
    case 3:
      return Buffer.from(payments.p2wpkh({ hash: bytes(r, 20), network }).output!);
    case 4:
      return Buffer.from(payments.p2wsh({ hash: bytes(r, 32), network }).output!);
    case 5:
      return Buffer.from(payments.p2tr({ pubkey: xOnly(r), network }).output!);
    case 6: {
      // Future witness versions 2..16, programs of 2..40 bytes.
      const n = 2 + int(r, 39);
      return Buffer.concat([Buffer.from([0x52 + int(r, 15), n]), bytes(r, n)]);
    }
    case 7: {
      // OP_RETURN with 0..3 pushes (direct, PUSHDATA1, PUSHDATA2); payloads of 2+ bytes so that
      // bitcoinjs-lib decompiles them as data, not as small-number opcodes.
      const parts = Array.from({ length: int(r, 4) }, () => push(bytes(r, 2 + int(r, r() < 0.2 ? 300 : 60))));
      return Buffer.concat([Buffer.from([0x6a]), ...parts]);
    }
    case 8:
      // OP_RETURN followed by something that is not a push: the raw tail is kept.
      return Buffer.concat([Buffer.from([0x6a, 0x51]), bytes(r, int(r, 10))]);
    case 9:
      return Buffer.from(payments.p2pk({ pubkey: pubkey(r) }).output!);
    case 10: {
      const n = 1 + int(r, 3);
      const m = 1 + int(r, n);
      return Buffer.from(payments.p2ms({ m, pubkeys: Array.from({ length: n }, () => pubkey(r)) }).output!);
    }
    case 11: {
      // Near misses of the address templates: one byte changed or the length off by one.
      const base = randomScript(r, network);
      if (r() < 0.5 && base.length > 0) {
        const copy = Buffer.from(base);
        copy[int(r, copy.length)]! ^= 1 << int(r, 8);
        return copy;
      }
      return r() < 0.5 ? base.subarray(0, Math.max(0, base.length - 1)) : Buffer.concat([base, bytes(r, 1)]);
    }
    case 12:
      return Buffer.alloc(0);
    case 13:
      // Long junk (multi-byte varint lengths).
      return bytes(r, 253 + int(r, 600));
    default:
      return bytes(r, int(r, 80));
  }
}

export interface RandomBlockOptions {
  network: Network;
  transactions: number;
  /** Share of transactions with witness data. */
  witnessShare?: number;
}

/** A block with a coinbase and `transactions - 1` random transactions, its merkle root and (when any
 * transaction has witness data) its BIP 141 witness commitment correct. */
export function randomBlock(r: Rng, o: RandomBlockOptions): Buffer {
  const rest: Transaction[] = [];
  for (let i = 1; i < o.transactions; i++) rest.push(randomTransaction(r, o.network, o.witnessShare ?? 0.5));
  const cb = coinbase(r, o.network);
  const txs = [cb, ...rest];
  if (rest.some((t) => t.hasWitnesses()) || r() < 0.2) {
    cb.setWitness(0, [bytes(r, 32)]);
    // The coinbase's wtxid counts as zero in the witness tree, so its own outputs do not matter.
    const commitment = Block.calculateMerkleRoot(txs, true);
    cb.addOutput(Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), commitment]), 0n);
  }
  const block = new Block();
  block.version = int(r, 2 ** 31) * (r() < 0.1 ? -1 : 1);
  block.prevHash = bytes(r, 32);
  block.timestamp = u32(r);
  block.bits = u32(r);
  block.nonce = u32(r);
  block.transactions = txs;
  block.merkleRoot = Block.calculateMerkleRoot(txs);
  return Buffer.from(block.toBuffer());
}

function coinbase(r: Rng, network: Network): Transaction {
  const tx = new Transaction();
  tx.version = pick(r, [1, 2]);
  tx.addInput(Buffer.alloc(32), 0xffffffff, u32(r), bytes(r, 2 + int(r, 98)));
  for (let i = 0, n = 1 + int(r, 3); i < n; i++)
    tx.addOutput(randomScript(r, network), BigInt(int(r, 2 ** 33)));
  return tx;
}

export function randomTransaction(r: Rng, network: Network, witnessShare: number): Transaction {
  const tx = new Transaction();
  tx.version = r() < 0.8 ? pick(r, [1, 2]) : u32(r);
  tx.locktime = r() < 0.7 ? 0 : u32(r);
  // Mostly few inputs and outputs; sometimes more than 252 (three-byte varint counts).
  const inputs = r() < 0.02 ? 253 + int(r, 20) : 1 + int(r, 4);
  const outputs = r() < 0.02 ? 253 + int(r, 20) : int(r, 6);
  for (let i = 0; i < inputs; i++)
    tx.addInput(
      bytes(r, 32),
      r() < 0.05 ? 0xffffffff : int(r, 5000),
      u32(r),
      bytes(r, int(r, r() < 0.1 ? 300 : 110)),
    );
  for (let i = 0; i < outputs; i++) {
    // Sometimes any 64-bit pattern (negative as signed): consensus-invalid, but the bytes must decode
    // the same way (pushed directly: addOutput only takes valid amounts).
    const value =
      r() < 0.05 ? BigInt.asIntN(64, (BigInt(u32(r)) << 32n) | BigInt(u32(r))) : BigInt(int(r, 2 ** 40));
    tx.outs.push({ script: randomScript(r, network), value });
  }
  if (r() < witnessShare) {
    // At least one input with witness items; others may be empty.
    const withWitness = int(r, inputs);
    for (let i = 0; i < inputs; i++) {
      if (i !== withWitness && r() < 0.4) continue;
      tx.setWitness(
        i,
        Array.from({ length: 1 + int(r, 4) }, () => bytes(r, int(r, r() < 0.1 ? 600 : 80))),
      );
    }
  }
  return tx;
}
