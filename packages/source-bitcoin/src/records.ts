// Decoded block -> normalized chain records (chain.blocks, chain.transactions, chain.transfers), in the
// order consumers read them: the block, then each transaction followed by its outputs.
import type { SourceRecord, JsonValue } from '@tributary/sdk';
import {
  TOPICS,
  recordHeaders,
  type ChainBlock,
  type ChainTransaction,
  type ChainTransfer,
} from '@tributary/schemas';
import type { DecodedBlock, DecodedTransaction } from './decode-block.ts';
import type { Prevouts, ResolvedOutput } from './prevouts.ts';
import { hex } from './script-types.ts';

export type Op = 'upsert' | 'retract';

const BLOCK_HEADERS = recordHeaders('chain.block');
const TX_HEADERS = recordHeaders('chain.transaction');
const TRANSFER_HEADERS = recordHeaders('chain.transfer');

/** All records of one block. `prevouts` is null when inputs are not resolved: input values, addresses
 * and fees are then null, never estimated. */
export function blockRecords(
  chain: string,
  height: number,
  block: DecodedBlock,
  op: Op,
  prevouts: Prevouts | null,
): SourceRecord[] {
  const timestampMs = block.time * 1000;
  const timestamp = new Date(timestampMs).toISOString();
  const value: ChainBlock = {
    op,
    chain,
    number: height,
    hash: block.hash,
    parentHash: block.parentHash,
    timestamp,
    transactionCount: block.transactions.length,
    miner: null,
    size: block.size,
    gasUsed: null,
    gasLimit: null,
    baseFeePerGas: null,
    weight: block.weight,
    extra: {
      version: block.version,
      merkleRoot: block.merkleRoot,
      bits: block.bits,
      nonce: block.nonce,
      strippedSize: block.strippedSize,
    },
  };
  const records: SourceRecord[] = [
    {
      topic: TOPICS.chainBlocks.name,
      key: chain,
      value: value as JsonValue,
      headers: BLOCK_HEADERS,
      timestamp: timestampMs,
    },
  ];
  for (const tx of block.transactions) {
    transactionRecords(records, chain, height, block.hash, timestamp, timestampMs, tx, op, prevouts);
  }
  return records;
}

// Hot for every block (one transaction record per tx, one transfer per output): plain loops, no
// intermediate arrays, objects built in one shape.
function transactionRecords(
  records: SourceRecord[],
  chain: string,
  height: number,
  blockHash: string,
  timestamp: string,
  timestampMs: number,
  tx: DecodedTransaction,
  op: Op,
  prevouts: Prevouts | null,
): void {
  const ins = tx.inputs;
  const outs = tx.outputs;
  let spent: (ResolvedOutput | null)[] | null = null;
  let allResolved = false;
  if (prevouts && !tx.coinbase) {
    spent = new Array<ResolvedOutput | null>(ins.length);
    allResolved = true;
    for (let n = 0; n < ins.length; n++) {
      const i = ins[n]!;
      const s = i.prevTxid !== null ? (prevouts.get(`${i.prevTxid}:${i.prevVout}`) ?? null) : null;
      spent[n] = s;
      if (s === null) allResolved = false;
    }
  }
  let inputValue: bigint | null = null;
  let inputAddresses: string[] | null = null;
  let from: string | null = null;
  if (allResolved && spent) {
    inputValue = 0n;
    let everyAddress = true;
    const seen = new Set<string>();
    for (const s of spent) {
      inputValue += s!.value;
      if (s!.address === null) everyAddress = false;
      else seen.add(s!.address);
    }
    inputAddresses = [...seen];
    // `from` only when unambiguous: every input pays from the same address.
    if (everyAddress && inputAddresses.length === 1) from = inputAddresses[0]!;
  }
  let outputValue = 0n;
  // `to` likewise: every paying output (OP_RETURN aside) to the same address.
  let to: string | null = null;
  let toAmbiguous = false;
  for (const o of outs) {
    outputValue += o.value;
    if (o.type === 'nulldata' || toAmbiguous) continue;
    if (o.address === null || (to !== null && o.address !== to)) {
      toAmbiguous = true;
      to = null;
    } else to = o.address;
  }

  const inputs: JsonValue[] = new Array(ins.length);
  for (let n = 0; n < ins.length; n++) {
    const i = ins[n]!;
    const s = spent?.[n] ?? null;
    inputs[n] =
      i.coinbase !== undefined
        ? {
            prevTxid: i.prevTxid,
            prevVout: i.prevVout,
            sequence: i.sequence,
            witness: i.witness,
            coinbase: i.coinbase,
            value: s ? s.value.toString() : null,
            address: s ? s.address : null,
            scriptType: s ? s.type : null,
          }
        : {
            prevTxid: i.prevTxid,
            prevVout: i.prevVout,
            sequence: i.sequence,
            witness: i.witness,
            value: s ? s.value.toString() : null,
            address: s ? s.address : null,
            scriptType: s ? s.type : null,
          };
  }

  const value: ChainTransaction = {
    op,
    chain,
    blockNumber: height,
    blockHash,
    index: tx.index,
    hash: tx.txid,
    from,
    to,
    value: outputValue.toString(),
    // The coinbase pays no fee; any other fee is known only once every input is resolved.
    fee: tx.coinbase ? '0' : inputValue !== null ? (inputValue - outputValue).toString() : null,
    status: 'success',
    timestamp,
    nonce: null,
    gasUsed: null,
    effectiveGasPrice: null,
    contractAddress: null,
    wtxid: tx.wtxid,
    size: tx.size,
    vsize: tx.vsize,
    weight: tx.weight,
    coinbase: tx.coinbase,
    inputCount: ins.length,
    outputCount: outs.length,
    extra: {
      version: tx.version,
      locktime: tx.locktime,
      inputValue: inputValue?.toString() ?? null,
      inputs,
    },
  };
  records.push({
    topic: TOPICS.chainTransactions.name,
    key: chain,
    value: value as JsonValue,
    headers: TX_HEADERS,
    timestamp: timestampMs,
  });
  for (const o of outs) {
    const extra: Record<string, JsonValue> = {
      scriptType: o.type,
      coinbase: tx.coinbase,
      // The spending side: who funded this output (resolved inputs only).
      inputAddresses,
    };
    if (o.address === null && o.type !== 'nulldata') extra['script'] = hex(o.script);
    if (o.data !== undefined) extra['data'] = o.data;
    if (o.pubkey !== undefined) extra['pubkey'] = o.pubkey;
    const transfer: ChainTransfer = {
      op,
      chain,
      blockNumber: height,
      blockHash,
      transactionHash: tx.txid,
      index: o.index,
      kind: 'utxo',
      token: null,
      tokenId: null,
      from,
      to: o.address,
      amount: o.value.toString(),
      timestamp,
      extra,
    };
    records.push({
      topic: TOPICS.chainTransfers.name,
      key: chain,
      value: transfer as JsonValue,
      headers: TRANSFER_HEADERS,
      timestamp: timestampMs,
    });
  }
}
