// A btcd regtest chain of many real transactions for the end-to-end benchmark, built with bitcoinjs-lib:
// coinbases fan out to one P2WPKH output per payment, then every payment (one signed P2WPKH input,
// several outputs of mixed types and change) is broadcast in bulk (JSON-RPC batches) and mined into
// blocks of `perBlock` transactions. Not cached between benchmark runs: btcd deletes a regtest chain
// whenever it starts (removeRegressionDB), so every run generates its chain anew.
import * as ecc from 'tiny-secp256k1';
import { ECPairFactory } from 'ecpair';
import { initEccLib, networks, payments, script, Transaction } from 'bitcoinjs-lib';
import { DEFAULT_BTCD_VERSION, startBtcd, type BtcdNode } from '@tributary/testkit';
import { addressParams, decodeBlock } from '../src/index.ts';

initEccLib(ecc);
const ECPair = ECPairFactory(ecc);
const regtest = networks.regtest;
const keyOf = (seed: number) => ECPair.fromPrivateKey(Buffer.alloc(32, seed), { network: regtest });
const miner = keyOf(101);
const payer = keyOf(102);
const payees = [keyOf(103), keyOf(104), keyOf(105)];

/** Segwit and taproot activate by BIP 9 signalling on btcd's regtest: 3 windows of 144 blocks. */
const ACTIVATION_HEIGHT = 440;
const FANOUT = 200;
const FEE = 3_000n;
const PAYMENT = 10_000n;

export interface ChainParams {
  /** Payment transactions to generate (the chain also has fan-out transactions and coinbases). */
  transactions: number;
  /** Outputs per payment, change included. */
  outputs: number;
  /** Payments per block. */
  perBlock: number;
}

export interface ChainInfo {
  params: ChainParams;
  btcd: string;
  /** The benchmark range: the fan-out block through the last payment block. */
  firstHeight: number;
  lastHeight: number;
  blocks: number;
  /** All transactions in the range (payments, fan-outs, coinbases) and their outputs. */
  transactions: number;
  outputs: number;
  rawBytes: number;
  generatedInSeconds: number;
}

const minerAddress = payments.p2pkh({ pubkey: miner.publicKey, network: regtest }).address!;

/** Starts btcd and generates the chain; the caller closes the node. */
export async function regtestChain(
  p: ChainParams,
  log: (line: string) => void,
): Promise<{ node: BtcdNode; info: ChainInfo }> {
  const node = await startBtcd({ miningAddress: minerAddress });
  try {
    return { node, info: await generate(p, node, log) };
  } catch (err) {
    await node.close();
    throw err;
  }
}

async function generate(p: ChainParams, node: BtcdNode, log: (line: string) => void): Promise<ChainInfo> {
  const started = performance.now();
  await node.generate(ACTIVATION_HEIGHT);
  const fanouts = Math.ceil(p.transactions / FANOUT);
  if (fanouts > ACTIVATION_HEIGHT - 100) throw new Error('too many transactions for the mature coinbases');

  // Fan-out: coinbase h (P2PKH to the miner) -> FANOUT P2WPKH outputs to the payer.
  const payerScript = payments.p2wpkh({ pubkey: payer.publicKey, network: regtest }).output!;
  const minerScript = payments.p2pkh({ pubkey: miner.publicKey, network: regtest }).output!;
  const net = addressParams('regtest');
  const fanTxs: Transaction[] = [];
  for (let h = 1; h <= fanouts; h++) {
    const hash = await node.rpc<string>('getblockhash', [h]);
    const cb = decodeBlock(Buffer.from(await node.rpc<string>('getblock', [hash, 0]), 'hex'), net)
      .transactions[0]!;
    const tx = new Transaction();
    tx.version = 2;
    tx.addInput(Buffer.from(cb.txid, 'hex').reverse(), 0);
    const each = (cb.outputs[0]!.value - 10_000n) / BigInt(FANOUT);
    for (let k = 0; k < FANOUT; k++) tx.addOutput(payerScript, each);
    const sighash = tx.hashForSignature(0, minerScript, Transaction.SIGHASH_ALL);
    const sig = script.signature.encode(miner.sign(sighash), Transaction.SIGHASH_ALL);
    tx.setInputScript(0, script.compile([sig, miner.publicKey]));
    fanTxs.push(tx);
  }
  await broadcast(node, fanTxs);
  await mineAll(node, fanouts);
  const firstHeight = ACTIVATION_HEIGHT + 1;
  log(`  fan-out: ${fanouts} transactions, ${fanouts * FANOUT} outputs (block ${firstHeight})`);

  // Payments, mined perBlock at a time.
  const payeeScripts = [
    payments.p2wpkh({ pubkey: payees[0]!.publicKey, network: regtest }).output!,
    payments.p2tr({ internalPubkey: payees[1]!.publicKey.subarray(1, 33), network: regtest }).output!,
    payments.p2pkh({ pubkey: payees[2]!.publicKey, network: regtest }).output!,
    payments.p2sh({
      redeem: payments.p2wpkh({ pubkey: payees[0]!.publicKey, network: regtest }),
      network: regtest,
    }).output!,
    payments.p2wsh({
      redeem: payments.p2pk({ pubkey: payees[1]!.publicKey, network: regtest }),
      network: regtest,
    }).output!,
  ];
  const scriptCode = payments.p2pkh({ pubkey: payer.publicKey, network: regtest }).output!;
  let made = 0;
  while (made < p.transactions) {
    const chunk: Transaction[] = [];
    for (; chunk.length < p.perBlock && made < p.transactions; made++) {
      const fan = fanTxs[Math.floor(made / FANOUT)]!;
      const vout = made % FANOUT;
      const value = fan.outs[vout]!.value;
      const tx = new Transaction();
      tx.version = 2;
      tx.addInput(fan.getHash(), vout);
      for (let k = 0; k < p.outputs - 1; k++) {
        // Every 16th payment carries an OP_RETURN in place of its first payee.
        const out =
          k === 0 && made % 16 === 0
            ? payments.embed({ data: [Buffer.from(`tributary bench ${made}`)] }).output!
            : payeeScripts[(made + k) % payeeScripts.length]!;
        tx.addOutput(out, out[0] === 0x6a ? 0n : PAYMENT);
      }
      tx.addOutput(payerScript, value - FEE - PAYMENT * BigInt(p.outputs - 1));
      const sighash = tx.hashForWitnessV0(0, scriptCode, value, Transaction.SIGHASH_ALL);
      tx.setWitness(0, [
        script.signature.encode(payer.sign(sighash), Transaction.SIGHASH_ALL),
        payer.publicKey,
      ]);
      chunk.push(tx);
    }
    await broadcast(node, chunk);
    await mineAll(node, chunk.length);
    log(`  payments: ${made}/${p.transactions} mined (height ${await node.rpc<number>('getblockcount')})`);
  }

  const lastHeight = await node.rpc<number>('getblockcount');
  let transactions = 0;
  let outputs = 0;
  let rawBytes = 0;
  for (let h = firstHeight; h <= lastHeight; h++) {
    const hash = await node.rpc<string>('getblockhash', [h]);
    const raw = Buffer.from(await node.rpc<string>('getblock', [hash, 0]), 'hex');
    const block = decodeBlock(raw, net);
    rawBytes += raw.length;
    transactions += block.transactions.length;
    for (const t of block.transactions) outputs += t.outputs.length;
  }
  const info: ChainInfo = {
    params: p,
    btcd: DEFAULT_BTCD_VERSION,
    firstHeight,
    lastHeight,
    blocks: lastHeight - firstHeight + 1,
    transactions,
    outputs,
    rawBytes,
    generatedInSeconds: Math.round((performance.now() - started) / 1000),
  };
  return info;
}

/** sendrawtransaction in JSON-RPC batches (btcd takes batched requests); any rejection fails. */
async function broadcast(node: BtcdNode, txs: Transaction[]): Promise<void> {
  const auth = 'Basic ' + Buffer.from(`${node.rpcUser}:${node.rpcPass}`).toString('base64');
  for (let i = 0; i < txs.length; i += 500) {
    const body = txs.slice(i, i + 500).map((tx, k) => ({
      jsonrpc: '1.0',
      id: i + k,
      method: 'sendrawtransaction',
      params: [tx.toHex()],
    }));
    const res = await fetch(node.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: auth },
      body: JSON.stringify(body),
    });
    const answers = (await res.json()) as { error: { message: string } | null }[];
    const failed = answers.find((a) => a.error);
    if (failed) throw new Error(`sendrawtransaction: ${failed.error!.message}`);
  }
}

/** Mines until the mempool is empty (btcd caps block templates by size). */
async function mineAll(node: BtcdNode, expected: number): Promise<void> {
  for (let mined = 0; ;) {
    const pool = await node.rpc<string[]>('getrawmempool');
    if (pool.length === 0) {
      if (mined < expected) throw new Error(`mined ${mined} of ${expected} transactions`);
      return;
    }
    const [hash] = await node.generate(1);
    mined += (await node.rpc<{ tx: string[] }>('getblock', [hash, 1])).tx.length - 1;
  }
}
