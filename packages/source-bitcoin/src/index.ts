// @tributary/source-bitcoin: Bitcoin blocks, transactions and outputs into the normalized chain topics,
// from Bitcoin Core JSON-RPC or an Esplora HTTP API, with confirmation-depth finality or tip-following
// with retractions on reorg.
import { defineSource, type SourceBatch } from '@tributary/sdk';
import { TOPICS } from '@tributary/schemas';
import type { z } from 'zod';
import { coreRpcBackend } from './backends/core-rpc.ts';
import { esploraBackend } from './backends/esplora.ts';
import type { ChainBackend } from './backends/types.ts';
import { configSchema, type BitcoinConfig, type BitcoinConfigInput, type BitcoinOffset } from './config.ts';
import { follow } from './follow.ts';
import { addressParams, chainId } from './networks.ts';
import { PrevoutResolver } from './prevouts.ts';

export { configSchema, type BitcoinConfig, type BitcoinConfigInput, type BitcoinOffset } from './config.ts';
export {
  decodeBlock,
  BlockDecodeError,
  type DecodedBlock,
  type DecodedTransaction,
  type DecodedInput,
  type DecodedOutput,
} from './decode-block.ts';
export { classifyOutputScript, type ScriptType, type ClassifiedScript } from './script-types.ts';
export { addressParams, chainId, NETWORK_NAMES, type NetworkName } from './networks.ts';
export type { ChainBackend, PrevOutput } from './backends/types.ts';

/** Typed helper for connectors.config.ts. */
export function bitcoin(
  name: string,
  config: BitcoinConfigInput,
  batch?: { maxRecords?: number; maxMs?: number },
) {
  return { name, type: 'bitcoin', config, ...(batch ? { batch } : {}) };
}

export function createBackend(c: BitcoinConfig['backend']): ChainBackend {
  return c.kind === 'core-rpc'
    ? coreRpcBackend({
        url: c.url,
        username: c.username,
        password: c.password,
        rest: c.rest,
        timeoutMs: c.timeoutMs,
      })
    : esploraBackend({ url: c.url, timeoutMs: c.timeoutMs });
}

export const source = defineSource<BitcoinConfig, BitcoinConfig, BitcoinOffset>({
  type: 'bitcoin',
  description:
    'Bitcoin blocks, transactions and outputs (Bitcoin Core RPC or Esplora), with reorg retractions',
  configSchema: configSchema as z.ZodType<BitcoinConfig>,
  topics: () => [
    TOPICS.chainBlocks.name,
    TOPICS.chainTransactions.name,
    TOPICS.chainTransfers.name,
    TOPICS.deadLetters.name,
  ],
  // One chain is one ordered stream (one source partition): a single task.
  tasks: (config) => [{ taskId: 0, config }],
  run(ctx): AsyncIterable<SourceBatch<BitcoinOffset>> {
    const c = ctx.config;
    const backend = createBackend(c.backend);
    const resolver = c.resolveInputs
      ? new PrevoutResolver(
          backend,
          addressParams(c.network),
          { ...c.resolveInputs, retries: c.retries },
          ctx.logger,
        )
      : null;
    return follow({
      connector: ctx.connector,
      config: c,
      backend,
      resolver,
      start: ctx.offsets.get(chainId(c.network)),
      logger: ctx.logger,
      metrics: ctx.metrics,
      signal: ctx.signal,
    });
  },
});
