// The reference the hand-written decoder is held to: the same DecodedBlock, computed only with
// bitcoinjs-lib (Block.fromBuffer, tx.getId/getHash, byteLength/weight, payments decoders and
// address.fromOutputScript) and node:crypto. Slow, and independent of src/.
import { createHash } from 'node:crypto';
import { address, Block, payments, type Network } from 'bitcoinjs-lib';
import type { DecodedBlock, DecodedOutput } from '../../src/index.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const reversedHex = (b: Uint8Array) => Buffer.from(b).reverse().toString('hex');
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest();

/** A decoded output with its script as hex, so outputs compare with toEqual. `data` is absent where
 * bitcoinjs-lib cannot say (an OP_RETURN script it does not decompile to pushes only). */
export type ComparableOutput = Omit<DecodedOutput, 'script'> & { script: string };
export type ComparableBlock = Omit<DecodedBlock, 'transactions'> & {
  transactions: (Omit<DecodedBlock['transactions'][number], 'outputs'> & { outputs: ComparableOutput[] })[];
};

export function referenceDecode(raw: Uint8Array, network: Network): ComparableBlock {
  const block = Block.fromBuffer(raw);
  const txs = block.transactions ?? [];
  return {
    hash: block.getId(),
    parentHash: reversedHex(block.prevHash!),
    version: block.version,
    merkleRoot: reversedHex(block.merkleRoot!),
    time: block.timestamp,
    bits: block.bits,
    nonce: block.nonce,
    size: raw.length,
    strippedSize: block.byteLength(false, false),
    weight: block.weight(),
    transactions: txs.map((tx, index) => {
      const coinbase = tx.isCoinbase();
      return {
        index,
        txid: tx.getId(),
        // bitcoinjs-lib zeroes the coinbase's wtxid (its BIP 141 merkle leaf); the decoder reports it
        // hashed, like Bitcoin Core's `hash`.
        wtxid: coinbase ? reversedHex(sha(sha(tx.toBuffer()))) : reversedHex(tx.getHash(true)),
        version: tx.version,
        locktime: tx.locktime,
        size: tx.byteLength(),
        vsize: tx.virtualSize(),
        weight: tx.weight(),
        coinbase,
        inputs: tx.ins.map((i) =>
          coinbase
            ? {
                prevTxid: null,
                prevVout: null,
                sequence: i.sequence,
                witness: i.witness.length > 0,
                coinbase: hex(i.script),
              }
            : {
                prevTxid: reversedHex(i.hash),
                prevVout: i.index,
                sequence: i.sequence,
                witness: i.witness.length > 0,
              },
        ),
        outputs: tx.outs.map((o, n) => ({
          index: n,
          value: o.value,
          script: hex(o.script),
          ...referenceScript(o.script, network),
        })),
      };
    }),
  };
}

function attempt<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch {
    return undefined;
  }
}

export function referenceScript(
  output: Uint8Array,
  network: Network,
): Omit<ComparableOutput, 'index' | 'value' | 'script'> {
  for (const type of ['p2pkh', 'p2sh', 'p2wpkh', 'p2wsh', 'p2tr'] as const) {
    const p = attempt(() => payments[type]({ output, network }));
    if (p) return { type, address: p.address! };
  }
  const future = attempt(() => address.fromOutputScript(output, network));
  if (future) return { type: 'witness_unknown', address: future };
  if (output[0] === 0x6a) {
    const embed = attempt(() => payments.embed({ output }));
    return embed
      ? { type: 'nulldata', address: null, data: embed.data!.map(hex).join('') }
      : { type: 'nulldata', address: null };
  }
  // (bitcoinjs-lib's p2pk does not look at the push opcode; Core's template requires a 33/65 push.)
  const p2pk = output[0] === output.length - 2 ? attempt(() => payments.p2pk({ output })) : undefined;
  if (p2pk) return { type: 'p2pk', address: null, pubkey: hex(p2pk.pubkey!) };
  if (attempt(() => payments.p2ms({ output }))) return { type: 'multisig', address: null };
  return coreOnly(output, network);
}

/** Where bitcoinjs-lib's payments are stricter than Bitcoin Core's script classification (Solver), the
 * decoder follows Core; these are those cases, each checked with bitcoinjs-lib's encoders. */
function coreOnly(s: Uint8Array, network: Network): Omit<ComparableOutput, 'index' | 'value' | 'script'> {
  // P2TR whose program is not an x-only point: Core still reports a witness_v1_taproot address
  // (bitcoinjs-lib's p2tr checks the point with the ECC library).
  if (s.length === 34 && s[0] === 0x51 && s[1] === 32)
    return { type: 'p2tr', address: address.toBech32(s.subarray(2), 1, network.bech32) };
  // Pay-to-pubkey and bare multisig with hybrid keys (0x06/0x07, 65 bytes): Core's CPubKey::ValidSize
  // accepts them, bitcoinjs-lib's isPoint does not; likewise keys that are not on the curve.
  const validSize = (at: number) =>
    (s[at] === 33 && (s[at + 1] === 2 || s[at + 1] === 3)) ||
    (s[at] === 65 && (s[at + 1] === 4 || s[at + 1] === 6 || s[at + 1] === 7));
  if ((s.length === 35 || s.length === 67) && s.length === s[0]! + 2 && validSize(0) && s.at(-1) === 0xac)
    return { type: 'p2pk', address: null, pubkey: hex(s.subarray(1, -1)) };
  const n = s.length;
  if (n >= 37 && s[n - 1] === 0xae && s[0]! >= 0x51 && s[0]! <= s[n - 2]! && s[n - 2]! <= 0x60) {
    let i = 1;
    let keys = 0;
    while (i < n - 2 && validSize(i)) {
      i += 1 + s[i]!;
      keys++;
    }
    if (i === n - 2 && keys === s[n - 2]! - 0x50) return { type: 'multisig', address: null };
  }
  return { type: 'nonstandard', address: null };
}

/** The decoder's result in the same comparable form (scripts as hex; `data` dropped where the
 * reference has none to compare with). */
export function comparable(d: DecodedBlock, ref: ComparableBlock): ComparableBlock {
  return {
    ...d,
    transactions: d.transactions.map((t, i) => ({
      ...t,
      outputs: t.outputs.map((o, n) => {
        const { script, ...rest } = o;
        const out: ComparableOutput = { ...rest, script: hex(script) };
        if (ref.transactions[i]?.outputs[n]?.data === undefined) delete out.data;
        return out;
      }),
    })),
  };
}
