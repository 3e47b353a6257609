// One fetched block (with its receipts) to normalized records, in the order they are written: the block,
// then per transaction the transaction and its transfers (native value first, then tokens by log index).
import { deadLetter, type JsonValue, type SourceRecord } from '@tributary/sdk';
import {
  TOPICS,
  recordHeaders,
  type ChainBlock,
  type ChainTransaction,
  type ChainTransfer,
} from '@tributary/schemas';
import { decodeTransfers } from './decode-transfers.ts';
import { hexToDecimal, hexToNumber, type AddressCache } from './hex.ts';
import type { RawBlock, RawReceipt } from './rpc.ts';

export interface FetchedBlock {
  block: RawBlock;
  /** In transaction order, one per transaction. */
  receipts: RawReceipt[];
}

export interface NormalizeContext {
  connector: string;
  /** `<chain>:<chainId>`, the record key and `chain` field. */
  chain: string;
  includeLogs: boolean;
  addresses: AddressCache;
}

export interface NormalizedBlock {
  number: number;
  hash: string;
  parentHash: string;
  /** Every record for this block, dead letters included, in write order. */
  records: SourceRecord[];
  /** Reasons of the dead letters among `records`, for metrics. */
  skipped: string[];
}

const HEADERS = {
  block: recordHeaders('chain.block'),
  tx: recordHeaders('chain.transaction'),
  transfer: recordHeaders('chain.transfer'),
};

const opt = (hex: string | null | undefined): string | null => (hex == null ? null : hexToDecimal(hex));

export function normalizeBlock({ block, receipts }: FetchedBlock, c: NormalizeContext): NormalizedBlock {
  const number = hexToNumber(block.number);
  const timestampMs = hexToNumber(block.timestamp) * 1000;
  const timestamp = new Date(timestampMs).toISOString();
  const at = { blockNumber: number, blockHash: block.hash, timestamp };
  const rec = (topic: string, headers: Record<string, string>, value: JsonValue): SourceRecord => ({
    topic,
    key: c.chain,
    value,
    headers,
    timestamp: timestampMs,
  });

  const blockValue: ChainBlock = {
    op: 'upsert',
    chain: c.chain,
    number,
    hash: block.hash,
    parentHash: block.parentHash,
    timestamp,
    transactionCount: block.transactions.length,
    miner: block.miner ? c.addresses.checksum(block.miner) : null,
    size: block.size ? hexToNumber(block.size) : null,
    gasUsed: hexToDecimal(block.gasUsed),
    gasLimit: hexToDecimal(block.gasLimit),
    baseFeePerGas: opt(block.baseFeePerGas),
    weight: null,
    extra: compact({
      difficulty: opt(block.difficulty),
      extraData: block.extraData,
      stateRoot: block.stateRoot,
      receiptsRoot: block.receiptsRoot,
      transactionsRoot: block.transactionsRoot,
      withdrawalCount: block.withdrawals?.length,
      blobGasUsed: opt(block.blobGasUsed),
      excessBlobGas: opt(block.excessBlobGas),
    }),
  };
  const records: SourceRecord[] = [rec(TOPICS.chainBlocks.name, HEADERS.block, blockValue as JsonValue)];
  const skipped: string[] = [];

  block.transactions.forEach((tx, i) => {
    const receipt = receipts[i]!;
    const status = receipt.status == null ? null : BigInt(receipt.status) === 1n ? 'success' : 'failed';
    // Pre-London receipts have no effectiveGasPrice: what the sender paid per gas was the gas price.
    const effectiveGasPrice = receipt.effectiveGasPrice ?? tx.gasPrice ?? null;
    const gasUsed = BigInt(receipt.gasUsed);
    const from = c.addresses.checksum(tx.from);
    const to = tx.to ? c.addresses.checksum(tx.to) : null;
    const txValue: ChainTransaction = {
      op: 'upsert',
      chain: c.chain,
      blockNumber: number,
      blockHash: block.hash,
      index: hexToNumber(tx.transactionIndex),
      hash: tx.hash,
      from,
      to,
      value: hexToDecimal(tx.value),
      // Execution fee (gas used x effective price); L2 data fees are not included.
      fee: effectiveGasPrice == null ? null : (gasUsed * BigInt(effectiveGasPrice)).toString(),
      status,
      timestamp,
      nonce: hexToNumber(tx.nonce),
      gasUsed: gasUsed.toString(),
      effectiveGasPrice: opt(effectiveGasPrice),
      contractAddress: receipt.contractAddress ? c.addresses.checksum(receipt.contractAddress) : null,
      wtxid: null,
      size: null,
      vsize: null,
      weight: null,
      coinbase: null,
      inputCount: null,
      outputCount: null,
      extra: compact({
        type: tx.type == null ? 0 : hexToNumber(tx.type),
        gas: hexToDecimal(tx.gas),
        gasPrice: opt(tx.gasPrice),
        maxFeePerGas: opt(tx.maxFeePerGas),
        maxPriorityFeePerGas: opt(tx.maxPriorityFeePerGas),
        cumulativeGasUsed: hexToDecimal(receipt.cumulativeGasUsed),
        // Pre-Byzantium receipts carry a state root instead of a status.
        root: receipt.root ?? undefined,
        methodId: tx.input.length >= 10 ? tx.input.slice(0, 10) : undefined,
        inputBytes: (tx.input.length - 2) / 2,
        logCount: receipt.logs.length,
        logs: c.includeLogs
          ? receipt.logs.map((l) => ({
              logIndex: hexToNumber(l.logIndex),
              address: c.addresses.checksum(l.address),
              topics: l.topics,
              data: l.data,
            }))
          : undefined,
      }),
    };
    records.push(rec(TOPICS.chainTransactions.name, HEADERS.tx, txValue as JsonValue));

    // Top-level value only (internal calls need traces); a failed transaction moved nothing.
    if (status !== 'failed' && BigInt(tx.value) > 0n) {
      const native: ChainTransfer = {
        op: 'upsert',
        chain: c.chain,
        ...at,
        transactionHash: tx.hash,
        index: 0,
        kind: 'native',
        token: null,
        tokenId: null,
        from,
        to: to ?? txValue.contractAddress,
        amount: txValue.value!,
      };
      records.push(rec(TOPICS.chainTransfers.name, HEADERS.transfer, native as JsonValue));
    }

    const { transfers, malformed } = decodeTransfers(receipt.logs, c.addresses);
    for (const t of transfers) {
      const value: ChainTransfer = {
        op: 'upsert',
        chain: c.chain,
        ...at,
        transactionHash: tx.hash,
        index: t.logIndex,
        kind: t.kind,
        token: t.token,
        tokenId: t.tokenId,
        from: t.from,
        to: t.to,
        amount: t.amount,
        timestamp,
      };
      if (t.operator !== undefined) value.extra = compact({ operator: t.operator, batchIndex: t.batchIndex });
      records.push(rec(TOPICS.chainTransfers.name, HEADERS.transfer, value as JsonValue));
    }
    for (const m of malformed) {
      skipped.push(m.reason);
      records.push(
        deadLetter({
          connector: c.connector,
          reason: m.reason,
          error: m.error,
          sourceRef: `${c.chain}:${block.hash}:${tx.hash}:${hexToNumber(m.log.logIndex)}`,
          payload: {
            address: m.log.address,
            topics: m.log.topics,
            data: m.log.data,
            logIndex: m.log.logIndex,
            transactionHash: tx.hash,
          } as JsonValue,
          timestamp: timestampMs,
        }),
      );
    }
  });
  return { number, hash: block.hash, parentHash: block.parentHash, records, skipped };
}

/** Drops absent fields (undefined or null), so `extra` stays small: a field is there when the node has it. */
function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null));
}

/** The same record withdrawn: identical key, topic and fields, `op: 'retract'`. Dead letters are not
 * retracted (they describe input that was received, orphaned or not). */
export function retraction(r: SourceRecord): SourceRecord | null {
  if (r.topic === TOPICS.deadLetters.name) return null;
  const value = r.value as { [k: string]: JsonValue };
  return { ...r, value: { ...value, op: 'retract' } };
}
