// The local Bitcoin chain (btcd regtest) and a small wallet that pays real, signed transactions into it
// with bitcoinjs-lib. Legacy P2PKH only: segwit needs 432 blocks of signalling on btcd's regtest first.
//
// The shape of the payments is chosen so benign traffic raises no alert: each spends two outputs of two
// different wallet addresses (so no single `from`, and never the 1-input/2-output shape of a peel chain)
// and pays two payees plus two change outputs (which also keeps the number of coins constant).
import { createHash } from 'node:crypto';
import * as ecc from 'tiny-secp256k1';
import { ECPairFactory, type ECPairInterface } from 'ecpair';
import { Block, Transaction, initEccLib, networks, payments, script } from 'bitcoinjs-lib';
import type { BtcdNode } from '@tributary/testkit';
import { pick, randomInt } from './repeat.ts';

initEccLib(ecc);
const ECPair = ECPairFactory(ecc);
const network = networks.regtest;
const FEE = 2_000n;
const DUST = 10_000n;
/** Blocks mined at start: coinbases mature after 100 blocks, so this leaves FANOUT_COINBASES spendable. */
const PREMINE = 110;
const FANOUT_COINBASES = 8;
const FANOUT_OUTPUTS = 20;

function keyOf(label: string): ECPairInterface {
  const d = createHash('sha256').update(`tributary-demo:btc:${label}`).digest();
  return ECPair.fromPrivateKey(d, { network });
}
const p2pkh = (k: ECPairInterface) => payments.p2pkh({ pubkey: k.publicKey, network });

const miner = keyOf('miner');
const wallet = Array.from({ length: 8 }, (_, i) => keyOf(`wallet:${i}`));
const payees = Array.from({ length: 20 }, (_, i) => p2pkh(keyOf(`payee:${i}`)).output!);

/** Where btcd pays its coinbases (needed to start the node). */
export const MINER_ADDRESS = p2pkh(miner).address!;

interface Coin {
  hash: Uint8Array;
  vout: number;
  value: bigint;
  key: number;
}

export interface BitcoinWallet {
  /** Builds and broadcasts `n` payments, then mines a block holding them. */
  payAndMine(n: number): Promise<{ height: number; payments: number }>;
  coins(): number;
}

async function broadcast(node: BtcdNode, tx: Transaction): Promise<void> {
  await node.rpc<string>('sendrawtransaction', [tx.toHex()]);
}

function signP2pkh(tx: Transaction, index: number, key: ECPairInterface): void {
  const hash = tx.hashForSignature(index, p2pkh(key).output!, Transaction.SIGHASH_ALL);
  const sig = script.signature.encode(key.sign(hash), Transaction.SIGHASH_ALL);
  tx.setInputScript(index, script.compile([sig, key.publicKey]));
}

/** Mines the premine, then spreads FANOUT_COINBASES coinbases over the wallet's addresses. */
export async function prepareBitcoin(node: BtcdNode): Promise<BitcoinWallet> {
  await node.generate(PREMINE);
  const pool: Coin[] = [];
  const minerScript = p2pkh(miner).output!;
  for (let h = 1; h <= FANOUT_COINBASES; h++) {
    const hash = await node.rpc<string>('getblockhash', [h]);
    const coinbase = Block.fromHex(await node.rpc<string>('getblock', [hash, 0])).transactions![0]!;
    const tx = new Transaction();
    tx.version = 2;
    tx.addInput(coinbase.getHash(), 0);
    const each = (coinbase.outs[0]!.value - FEE) / BigInt(FANOUT_OUTPUTS);
    for (let k = 0; k < FANOUT_OUTPUTS; k++) tx.addOutput(p2pkh(wallet[k % wallet.length]!).output!, each);
    const sighash = tx.hashForSignature(0, minerScript, Transaction.SIGHASH_ALL);
    tx.setInputScript(
      0,
      script.compile([
        script.signature.encode(miner.sign(sighash), Transaction.SIGHASH_ALL),
        miner.publicKey,
      ]),
    );
    await broadcast(node, tx);
    for (let k = 0; k < FANOUT_OUTPUTS; k++)
      pool.push({ hash: tx.getHash(), vout: k, value: each, key: k % wallet.length });
  }
  await node.generate(1);

  const payment = (): { tx: Transaction; spent: Coin[]; change: Coin[] } | null => {
    const a = pool.splice(Math.floor(Math.random() * pool.length), 1)[0];
    const j = pool.findIndex((c) => c.key !== a?.key);
    if (!a || j < 0) {
      if (a) pool.push(a);
      return null;
    }
    const b = pool.splice(j, 1)[0]!;
    const paid = [BigInt(randomInt(10_000, 500_000)), BigInt(randomInt(10_000, 500_000))];
    const rest = a.value + b.value - paid[0]! - paid[1]! - FEE;
    if (rest < 2n * DUST) return null; // both coins spent down: drop them
    const tx = new Transaction();
    tx.version = 2;
    tx.addInput(a.hash, a.vout);
    tx.addInput(b.hash, b.vout);
    for (const v of paid) tx.addOutput(pick(payees), v);
    const keys = [randomInt(0, wallet.length - 1), randomInt(0, wallet.length - 1)];
    const half = rest / 2n;
    tx.addOutput(p2pkh(wallet[keys[0]!]!).output!, half);
    tx.addOutput(p2pkh(wallet[keys[1]!]!).output!, rest - half);
    signP2pkh(tx, 0, wallet[a.key]!);
    signP2pkh(tx, 1, wallet[b.key]!);
    const hash = tx.getHash();
    return {
      tx,
      spent: [a, b],
      change: [
        { hash, vout: 2, value: half, key: keys[0]! },
        { hash, vout: 3, value: rest - half, key: keys[1]! },
      ],
    };
  };

  return {
    async payAndMine(n) {
      const made: Coin[] = [];
      let sent = 0;
      for (let i = 0; i < n; i++) {
        const p = payment();
        if (!p) continue;
        try {
          await broadcast(node, p.tx);
        } catch (err) {
          pool.push(...p.spent, ...made);
          throw err;
        }
        made.push(...p.change);
        sent++;
      }
      await node.generate(1);
      // Change is spendable once mined; the block above holds it.
      pool.push(...made);
      return { height: await node.rpc<number>('getblockcount'), payments: sent };
    },
    coins: () => pool.length,
  };
}
