// Token transfers from receipt logs. Non-standard tokens are common on mainnet: anything that does not
// match the standard shape is returned as a `Malformed` (the caller dead-letters it) and never throws.
import { AbiCoder, id } from 'ethers';
import type { AddressCache } from './hex.ts';
import type { RawLog } from './rpc.ts';

/** keccak256 of the event signatures (topic 0). ERC-20 and ERC-721 share `Transfer`; the topic count tells
 * them apart: ERC-20 has the amount in data (3 topics), ERC-721 the token id as topic 3 (4 topics). */
export const TRANSFER_TOPIC = id('Transfer(address,address,uint256)');
export const TRANSFER_SINGLE_TOPIC = id('TransferSingle(address,address,address,uint256,uint256)');
export const TRANSFER_BATCH_TOPIC = id('TransferBatch(address,address,address,uint256[],uint256[])');

export interface DecodedTransfer {
  kind: 'erc20' | 'erc721' | 'erc1155';
  logIndex: number;
  token: string;
  tokenId: string | null;
  from: string;
  to: string;
  amount: string;
  /** ERC-1155: the operator, and the position within a TransferBatch. */
  operator?: string;
  batchIndex?: number;
}

export interface Malformed {
  reason: string;
  error: string;
  log: RawLog;
}

const abi = AbiCoder.defaultAbiCoder();

/** Hex data length in bytes (`0x` prefix excluded). */
function dataBytes(data: string): number {
  return (data.length - 2) / 2;
}

export function decodeTransfers(
  logs: readonly RawLog[],
  addresses: AddressCache,
): { transfers: DecodedTransfer[]; malformed: Malformed[] } {
  const transfers: DecodedTransfer[] = [];
  const malformed: Malformed[] = [];
  for (const log of logs) {
    const topic0 = log.topics[0]?.toLowerCase();
    if (topic0 !== TRANSFER_TOPIC && topic0 !== TRANSFER_SINGLE_TOPIC && topic0 !== TRANSFER_BATCH_TOPIC)
      continue;
    try {
      const out =
        topic0 === TRANSFER_TOPIC
          ? decodeTransfer(log, addresses)
          : decode1155(log, topic0 === TRANSFER_BATCH_TOPIC, addresses);
      if ('reason' in out) malformed.push(out);
      else transfers.push(...out);
    } catch (err) {
      // Anything the ABI decoder chokes on (truncated data, lying offsets) lands here.
      malformed.push({
        reason: 'undecodable-log',
        error: err instanceof Error ? err.message.slice(0, 300) : String(err),
        log,
      });
    }
  }
  return { transfers, malformed };
}

function decodeTransfer(log: RawLog, addresses: AddressCache): DecodedTransfer[] | Malformed {
  const [, fromWord, toWord, idWord] = log.topics;
  if (log.topics.length !== 3 && log.topics.length !== 4) {
    return {
      reason: 'transfer-wrong-topic-count',
      error: `Transfer log with ${log.topics.length} topics (expected 3 for ERC-20, 4 for ERC-721)`,
      log,
    };
  }
  const from = addresses.fromWord(fromWord!);
  const to = addresses.fromWord(toWord!);
  if (from === null || to === null)
    return { reason: 'transfer-bad-address', error: 'Transfer topic is not a 20-byte address', log };
  const base = {
    logIndex: Number.parseInt(log.logIndex, 16),
    token: addresses.checksum(log.address),
    from,
    to,
  };
  if (log.topics.length === 3) {
    if (dataBytes(log.data) !== 32)
      return {
        reason: 'erc20-bad-data',
        error: `ERC-20 Transfer data is ${dataBytes(log.data)} bytes (expected 32)`,
        log,
      };
    return [{ ...base, kind: 'erc20', tokenId: null, amount: BigInt(log.data).toString() }];
  }
  if (dataBytes(log.data) !== 0)
    return {
      reason: 'erc721-bad-data',
      error: `ERC-721 Transfer with ${dataBytes(log.data)} bytes of data (expected none)`,
      log,
    };
  return [{ ...base, kind: 'erc721', tokenId: BigInt(idWord!).toString(), amount: '1' }];
}

function decode1155(log: RawLog, batch: boolean, addresses: AddressCache): DecodedTransfer[] | Malformed {
  const name = batch ? 'TransferBatch' : 'TransferSingle';
  if (log.topics.length !== 4)
    return {
      reason: 'erc1155-wrong-topic-count',
      error: `${name} log with ${log.topics.length} topics (expected 4)`,
      log,
    };
  const [, opWord, fromWord, toWord] = log.topics;
  const operator = addresses.fromWord(opWord!);
  const from = addresses.fromWord(fromWord!);
  const to = addresses.fromWord(toWord!);
  if (operator === null || from === null || to === null)
    return { reason: 'erc1155-bad-address', error: `${name} topic is not a 20-byte address`, log };
  const base = {
    kind: 'erc1155' as const,
    logIndex: Number.parseInt(log.logIndex, 16),
    token: addresses.checksum(log.address),
    from,
    to,
    operator,
  };
  if (!batch) {
    if (dataBytes(log.data) !== 64)
      return {
        reason: 'erc1155-bad-data',
        error: `TransferSingle data is ${dataBytes(log.data)} bytes (expected 64)`,
        log,
      };
    const [tokenId, amount] = abi.decode(['uint256', 'uint256'], log.data) as unknown as [bigint, bigint];
    return [{ ...base, tokenId: tokenId.toString(), amount: amount.toString() }];
  }
  const [ids, values] = abi.decode(['uint256[]', 'uint256[]'], log.data) as unknown as [bigint[], bigint[]];
  if (ids.length !== values.length)
    return {
      reason: 'erc1155-batch-length-mismatch',
      error: `TransferBatch with ${ids.length} ids and ${values.length} values`,
      log,
    };
  return Array.from(ids, (tokenId, batchIndex) => ({
    ...base,
    tokenId: tokenId.toString(),
    amount: values[batchIndex]!.toString(),
    batchIndex,
  }));
}
