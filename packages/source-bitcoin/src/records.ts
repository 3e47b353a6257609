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
    records.push(...transactionRecords(chain, height, block.hash, timestamp, timestampMs, tx, op, prevouts));
  }
  return records;
}

function transactionRecords(
  chain: string,
  height: number,
  blockHash: string,
  timestamp: string,
  timestampMs: number,
  tx: DecodedTransaction,
  op: Op,
  prevouts: Prevouts | null,
): SourceRecord[] {
  const spent: (ResolvedOutput | null)[] = tx.inputs.map((i) =>
    prevouts && i.prevTxid !== null ? (prevouts.get(`${i.prevTxid}:${i.prevVout}`) ?? null) : null,
  );
  const allResolved = !tx.coinbase && spent.every((s) => s !== null);
  const inputValue = allResolved ? spent.reduce((sum, s) => sum + s!.value, 0n) : null;
  const outputValue = tx.outputs.reduce((sum, o) => sum + o.value, 0n);
  const inputAddresses = allResolved ? distinct(spent.map((s) => s!.address)) : null;
  // `from`/`to` only when unambiguous: every input (output) pays from (to) the same address.
  const from =
    inputAddresses && inputAddresses.length === 1 && spent.every((s) => s!.address !== null)
      ? inputAddresses[0]!
      : null;
  const paying = tx.outputs.filter((o) => o.type !== 'nulldata');
  const outputAddresses = distinct(paying.map((o) => o.address));
  const to =
    outputAddresses.length === 1 && paying.every((o) => o.address !== null) ? outputAddresses[0]! : null;

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
    inputCount: tx.inputs.length,
    outputCount: tx.outputs.length,
    extra: {
      version: tx.version,
      locktime: tx.locktime,
      inputValue: inputValue?.toString() ?? null,
      inputs: tx.inputs.map((i, n) => ({
        prevTxid: i.prevTxid,
        prevVout: i.prevVout,
        sequence: i.sequence,
        witness: i.witness,
        ...(i.coinbase !== undefined ? { coinbase: i.coinbase } : {}),
        value: spent[n]?.value.toString() ?? null,
        address: spent[n]?.address ?? null,
        scriptType: spent[n]?.type ?? null,
      })),
    },
  };
  const records: SourceRecord[] = [
    {
      topic: TOPICS.chainTransactions.name,
      key: chain,
      value: value as JsonValue,
      headers: TX_HEADERS,
      timestamp: timestampMs,
    },
  ];
  for (const o of tx.outputs) {
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
      extra: {
        scriptType: o.type,
        coinbase: tx.coinbase,
        // The spending side: who funded this output (resolved inputs only).
        inputAddresses: inputAddresses,
        ...(o.address === null && o.type !== 'nulldata' ? { script: hex(o.script) } : {}),
        ...(o.data !== undefined ? { data: o.data } : {}),
        ...(o.pubkey !== undefined ? { pubkey: o.pubkey } : {}),
      },
    };
    records.push({
      topic: TOPICS.chainTransfers.name,
      key: chain,
      value: transfer as JsonValue,
      headers: TRANSFER_HEADERS,
      timestamp: timestampMs,
    });
  }
  return records;
}

function distinct(addresses: (string | null)[]): string[] {
  return [...new Set(addresses.filter((a): a is string => a !== null))];
}
