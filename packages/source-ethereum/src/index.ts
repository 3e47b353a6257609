// Ethereum (and any EVM JSON-RPC chain) source: blocks, transactions with receipt fields, and native and
// token transfers, with finality policies and reorg retractions. One task per connector: a chain is one
// ordered stream (partition = chain id).
import type { z } from 'zod';
import { defineSource } from '@tributary/sdk';
import { TOPICS } from '@tributary/schemas';
import { configSchema, type EthereumConfig, type EthereumConfigInput } from './config.ts';
import { streamChain, type EthereumOffset } from './stream.ts';

export {
  configSchema,
  finalitySchema,
  type EthereumConfig,
  type EthereumConfigInput,
  type Finality,
} from './config.ts';
export type { EthereumOffset } from './stream.ts';
export {
  decodeTransfers,
  TRANSFER_TOPIC,
  TRANSFER_SINGLE_TOPIC,
  TRANSFER_BATCH_TOPIC,
  type DecodedTransfer,
  type Malformed,
} from './decode-transfers.ts';
export { normalizeBlock, type FetchedBlock, type NormalizedBlock } from './normalize.ts';
export { redactUrl } from './rpc.ts';

/** Typed helper for connectors.config.ts. */
export function ethereum(
  name: string,
  config: EthereumConfigInput,
  batch?: { maxRecords?: number; maxMs?: number },
) {
  return { name, type: 'ethereum', config, ...(batch ? { batch } : {}) };
}

export const source = defineSource<EthereumConfig, EthereumConfig, EthereumOffset>({
  type: 'ethereum',
  description:
    'Ethereum/EVM JSON-RPC: blocks, transactions with receipts, native and ERC-20/721/1155 transfers',
  configSchema: configSchema as z.ZodType<EthereumConfig>,
  topics: () => [
    TOPICS.chainBlocks.name,
    TOPICS.chainTransactions.name,
    TOPICS.chainTransfers.name,
    TOPICS.deadLetters.name,
  ],
  run: (ctx) => streamChain(ctx),
});
