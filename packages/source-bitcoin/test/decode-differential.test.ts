// The hand-written decoder against bitcoinjs-lib, every field of every transaction, input and output:
// on every real block in the shared fixtures and on seeded random blocks (all script templates and near
// misses, witness and legacy transactions, large varints, odd values). Corrupted bytes must fail with
// BlockDecodeError, never with some other exception or a wrong result.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import * as ecc from 'tiny-secp256k1';
import { Block, initEccLib, networks, Transaction, type Network } from 'bitcoinjs-lib';
import { addressParams, BlockDecodeError, decodeBlock, type NetworkName } from '../src/index.ts';
import { bitcoinjsBlocks, fixturePath, readJson } from './helpers/fixtures.ts';
import { comparable, referenceDecode } from './helpers/reference-decode.ts';
import { randomBlock, rng } from './helpers/random-block.ts';

initEccLib(ecc);

const NETS: [NetworkName, Network][] = [
  ['mainnet', networks.bitcoin],
  ['testnet', networks.testnet],
  ['regtest', networks.regtest],
];

function expectSameAsBitcoinjs(raw: Uint8Array, name: NetworkName, network: Network): number {
  const ref = referenceDecode(raw, network);
  const ours = comparable(decodeBlock(raw, addressParams(name)), ref);
  expect(ours).toEqual(ref);
  return ref.transactions.length;
}

/** Every real block in the shared fixtures: bitcoinjs-lib's block.json and bitcoin-etl's raw txs. */
function fixtureBlocks(): { name: string; raw: Buffer }[] {
  const bjs = bitcoinjsBlocks()
    .valid.filter((b) => b.hex.length > 160 && b.valid !== false)
    .map((b) => ({ name: `bitcoinjs-lib: ${b.description}`, raw: Buffer.from(b.hex, 'hex') }));
  const etl = readdirSync(fixturePath('bitcoin-etl'))
    .filter((d) => d.startsWith('block_'))
    .map((dir) => {
      const file = readdirSync(fixturePath('bitcoin-etl', dir)).find((f) =>
        f.startsWith('rpc_response_getblock_0'),
      )!;
      const b = readJson<{ tx: { hex: string }[] }>('bitcoin-etl', dir, file);
      // Real transactions in a header of our own (the header is compared separately, and the
      // bitcoinjs-lib fixtures have real ones).
      return { name: `bitcoin-etl: ${dir}`, txs: b.tx.map((t) => Buffer.from(t.hex, 'hex')) };
    })
    .map(({ name, txs }) => ({ name, raw: assemble(txs) }));
  return [...bjs, ...etl];
}

/** A block of these raw transactions, its merkle root computed by bitcoinjs-lib. */
function assemble(txs: Buffer[]): Buffer {
  const block = new Block();
  block.prevHash = Buffer.alloc(32, 1);
  block.transactions = txs.map((t) => Transaction.fromBuffer(t));
  block.merkleRoot = Block.calculateMerkleRoot(block.transactions);
  return Buffer.from(block.toBuffer());
}

describe('decoder = bitcoinjs-lib on real blocks', () => {
  const blocks = fixtureBlocks();
  it('finds the fixture blocks', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
  });
  for (const { name, raw } of blocks) {
    it(name, () => {
      for (const [n, net] of NETS) expectSameAsBitcoinjs(raw, n, net);
    });
  }
});

describe('decoder = bitcoinjs-lib on random blocks', () => {
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`seed ${seed}`, () => {
      const r = rng(seed);
      const [name, network] = NETS[seed % NETS.length]!;
      let txs = 0;
      for (let k = 0; k < 6; k++) {
        const raw = randomBlock(r, { network, transactions: 1 + Math.floor(r() * 40), witnessShare: r() });
        txs += expectSameAsBitcoinjs(raw, name, network);
      }
      expect(txs).toBeGreaterThan(6);
    });
  }
});

describe('corrupt input', () => {
  const raw = randomBlock(rng(99), { network: networks.bitcoin, transactions: 30 });
  const net = addressParams('mainnet');

  it('every truncation fails with BlockDecodeError', () => {
    for (let n = 0; n < raw.length; n += 1 + Math.floor(n / 50)) {
      expect(() => decodeBlock(raw.subarray(0, n), net), `${n} bytes`).toThrow(BlockDecodeError);
    }
  });

  it('flipped bytes fail with BlockDecodeError (or, in the header, change only the header)', () => {
    const r = rng(7);
    for (let k = 0; k < 2000; k++) {
      const bad = Buffer.from(raw);
      const at = Math.floor(r() * bad.length);
      bad[at]! ^= 1 + Math.floor(r() * 255);
      let ok = false;
      try {
        decodeBlock(bad, net);
        ok = true;
      } catch (err) {
        expect(err, `byte ${at}`).toBeInstanceOf(BlockDecodeError);
      }
      // Outside the header every byte is covered by the merkle root (or is structure).
      if (ok) expect(at < 36 || (at >= 68 && at < 80), `byte ${at} changed and still decoded`).toBe(true);
    }
  });

  it('rejects non-canonical varints and a witness flag without witnesses', () => {
    const tx = new Transaction();
    tx.addInput(Buffer.alloc(32), 0xffffffff, 0, Buffer.from('0101', 'hex'));
    tx.addOutput(Buffer.from('51', 'hex'), 1n);
    const good = assemble([Buffer.from(tx.toBuffer())]);
    expect(decodeBlock(good, net).transactions).toHaveLength(1);
    // Count 1 as 0xfd 0x01 0x00.
    const nonCanonical = Buffer.concat([good.subarray(0, 80), Buffer.from([0xfd, 1, 0]), good.subarray(81)]);
    expect(() => decodeBlock(nonCanonical, net)).toThrow(/non-canonical/);
    // Marker and flag, then the same inputs and outputs, an empty witness and the locktime.
    const body = Buffer.from(tx.toBuffer());
    const flagged = Buffer.concat([
      body.subarray(0, 4),
      Buffer.from([0, 1]),
      body.subarray(4, -4),
      Buffer.from([0]),
      body.subarray(-4),
    ]);
    expect(() => decodeBlock(assembleRaw(good, flagged), net)).toThrow(/superfluous witness/);
  });

  it('checks the witness commitment of blocks with witness data', () => {
    const coinbaseTx = new Transaction();
    coinbaseTx.addInput(Buffer.alloc(32), 0xffffffff, 0, Buffer.from('0101', 'hex'));
    coinbaseTx.addOutput(Buffer.from('51', 'hex'), 1n);
    const spend = new Transaction();
    spend.addInput(Buffer.alloc(32, 7), 0, 0);
    spend.addOutput(Buffer.from('51', 'hex'), 1n);
    spend.setWitness(0, [Buffer.from('aa', 'hex')]);
    // Witness data and no commitment: the witness bytes would be unchecked.
    const without = assemble([Buffer.from(coinbaseTx.toBuffer()), Buffer.from(spend.toBuffer())]);
    expect(() => decodeBlock(without, net)).toThrow(/no witness commitment/);
    // With a correct commitment it decodes; a changed witness byte then fails.
    coinbaseTx.setWitness(0, [Buffer.alloc(32, 3)]);
    const commitment = Block.calculateMerkleRoot([coinbaseTx, spend], true);
    coinbaseTx.addOutput(Buffer.concat([Buffer.from('6a24aa21a9ed', 'hex'), commitment]), 0n);
    const withCommitment = assemble([Buffer.from(coinbaseTx.toBuffer()), Buffer.from(spend.toBuffer())]);
    expect(decodeBlock(withCommitment, net).transactions[1]!.inputs[0]!.witness).toBe(true);
    const bad = Buffer.from(withCommitment);
    bad[bad.length - 5]! ^= 0xff; // the witness item 0xaa, just before the locktime
    expect(() => decodeBlock(bad, net)).toThrow(/witness commitment/);
  });
});

/** A block with `good`'s header and the one transaction `tx` (merkle root left as is: the parser fails
 * before it gets there). */
function assembleRaw(good: Buffer, tx: Buffer): Buffer {
  return Buffer.concat([good.subarray(0, 80), Buffer.from([1]), tx]);
}
