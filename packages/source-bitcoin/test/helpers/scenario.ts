// A regtest chain with the transaction shapes the source must handle: P2PKH, P2WPKH (witness) inputs,
// P2WPKH/P2TR/P2PKH/P2SH/P2WSH/OP_RETURN outputs, several outputs per tx, and a spend of an output
// created earlier in the same block.
import { payments, type Transaction } from 'bitcoinjs-lib';
import { startBtcd, type BtcdNode } from '@tributary/testkit';
import { buildTx, coinbaseAt, key, p2pkh, p2tr, p2wpkh, regtest, send, spendable } from './wallet.ts';

export const miner = key(1);
export const alice = key(2);
export const bob = key(3);
export const carol = key(4);
export const OP_RETURN_DATA = Buffer.from('tributary regtest');
export const FEE = 10_000n;

/** Segwit and taproot activate by BIP 9 signalling on btcd's regtest: 3 windows of 144 blocks. */
export const ACTIVATION_HEIGHT = 440;

export interface Scenario {
  node: BtcdNode;
  /** tx1 (spends a coinbase) is in block `first`; tx2 and tx3 (tx3 spends tx2) in `first + 1`. */
  first: number;
  tx1: Transaction;
  tx2: Transaction;
  tx3: Transaction;
  coinbase1: Transaction;
}

export async function startNode(): Promise<BtcdNode> {
  return startBtcd({ miningAddress: p2pkh(miner).address! });
}

export async function buildScenario(node: BtcdNode): Promise<Scenario> {
  await node.generate(ACTIVATION_HEIGHT);
  const coinbase1 = await coinbaseAt(node, 1);
  const cb = spendable(coinbase1, 0, 'p2pkh', miner);
  const outputs = [
    { script: p2wpkh(alice).output!, value: 1_000_000_000n },
    { script: p2tr(bob).output!, value: 500_000_000n },
    { script: p2pkh(carol).output!, value: 300_000_000n },
    { script: payments.embed({ data: [OP_RETURN_DATA] }).output!, value: 0n },
    {
      script: payments.p2sh({
        redeem: payments.p2wpkh({ pubkey: alice.publicKey, network: regtest }),
        network: regtest,
      }).output!,
      value: 100_000_000n,
    },
    {
      script: payments.p2wsh({
        redeem: payments.p2pk({ pubkey: bob.publicKey, network: regtest }),
        network: regtest,
      }).output!,
      value: 100_000_000n,
    },
  ];
  const spent = outputs.reduce((s, o) => s + o.value, 0n);
  const tx1 = buildTx([cb], [...outputs, { script: p2pkh(miner).output!, value: cb.value - spent - FEE }]);
  await send(node, tx1);
  const [firstHash] = await node.generate(1);
  const first = ACTIVATION_HEIGHT + 1;
  if (!firstHash) throw new Error('generate returned no block');

  const a = spendable(tx1, 0, 'p2wpkh', alice);
  const tx2 = buildTx(
    [a],
    [
      { script: p2tr(bob).output!, value: 400_000_000n },
      { script: p2wpkh(alice).output!, value: a.value - 400_000_000n - FEE },
    ],
  );
  const b = spendable(tx2, 1, 'p2wpkh', alice);
  const tx3 = buildTx(
    [b],
    [
      { script: p2pkh(carol).output!, value: 200_000_000n },
      { script: p2wpkh(alice).output!, value: b.value - 200_000_000n - FEE },
    ],
  );
  await send(node, tx2);
  await send(node, tx3);
  await node.generate(1);
  return { node, first, tx1, tx2, tx3, coinbase1 };
}
