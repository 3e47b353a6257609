// Keys the tests hold, and transactions built and signed with bitcoinjs-lib (Psbt) for broadcast to btcd.
import * as ecc from 'tiny-secp256k1';
import { ECPairFactory, type ECPairInterface } from 'ecpair';
import { initEccLib, networks, payments, Psbt, Transaction } from 'bitcoinjs-lib';
import type { BtcdNode } from '@tributary/testkit';

initEccLib(ecc);
const ECPair = ECPairFactory(ecc);
export const regtest = networks.regtest;

export function key(seed: number): ECPairInterface {
  return ECPair.fromPrivateKey(Buffer.alloc(32, seed), { network: regtest });
}

export const p2pkh = (k: ECPairInterface) => payments.p2pkh({ pubkey: k.publicKey, network: regtest });
export const p2wpkh = (k: ECPairInterface) => payments.p2wpkh({ pubkey: k.publicKey, network: regtest });
export const p2tr = (k: ECPairInterface) =>
  payments.p2tr({ internalPubkey: k.publicKey.subarray(1, 33), network: regtest });

export interface Spendable {
  txid: string;
  vout: number;
  value: bigint;
  kind: 'p2pkh' | 'p2wpkh';
  key: ECPairInterface;
  /** The full previous transaction (P2PKH inputs sign over it). */
  prevTx: Transaction;
}

export interface Output {
  script: Uint8Array;
  value: bigint;
}

/** Signs a transaction spending `inputs` to `outputs` (the caller leaves the fee as the difference). */
export function buildTx(inputs: Spendable[], outputs: Output[]): Transaction {
  const psbt = new Psbt({ network: regtest });
  for (const i of inputs) {
    if (i.kind === 'p2pkh')
      psbt.addInput({ hash: i.txid, index: i.vout, nonWitnessUtxo: i.prevTx.toBuffer() });
    else
      psbt.addInput({
        hash: i.txid,
        index: i.vout,
        witnessUtxo: { script: i.prevTx.outs[i.vout]!.script, value: i.value },
      });
  }
  for (const o of outputs) psbt.addOutput({ script: o.script, value: o.value });
  inputs.forEach((i, n) => psbt.signInput(n, i.key));
  psbt.finalizeAllInputs();
  return psbt.extractTransaction();
}

export function spendable(
  tx: Transaction,
  vout: number,
  kind: Spendable['kind'],
  k: ECPairInterface,
): Spendable {
  return { txid: tx.getId(), vout, value: tx.outs[vout]!.value, kind, key: k, prevTx: tx };
}

export async function send(node: BtcdNode, tx: Transaction): Promise<string> {
  return node.rpc<string>('sendrawtransaction', [tx.toHex()]);
}

/** The coinbase transaction of the block at `height`. */
export async function coinbaseAt(node: BtcdNode, height: number): Promise<Transaction> {
  const hash = await node.rpc<string>('getblockhash', [height]);
  const block = await node.rpc<{ tx: string[] }>('getblock', [hash, 1]);
  return Transaction.fromHex(await node.rpc<string>('getrawtransaction', [block.tx[0], 0]));
}
