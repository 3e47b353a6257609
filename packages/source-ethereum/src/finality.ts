// The highest block we may write under the configured finality policy.
import { FatalError } from '@tributary/sdk';
import { hexToNumber } from './hex.ts';
import type { Finality } from './config.ts';
import type { RpcClient } from './rpc.ts';

export interface Heads {
  /** The node's latest block, for lag. */
  head: number;
  /** The last block the policy allows us to write (may be below `head`, or -1 before the first). */
  target: number;
}

export async function heads(rpc: RpcClient, finality: Finality): Promise<Heads> {
  const head = await rpc.blockNumber();
  if (finality === 'latest') return { head, target: head };
  if (typeof finality === 'object') return { head, target: head - finality.confirmations };
  const tagged = await rpc.header(finality);
  // Pre-merge chains (and some L2s) have no safe/finalized block: a config error, not a transient one.
  if (!tagged)
    throw new FatalError(
      `${rpc.endpoint} has no '${finality}' block; use finality 'latest' or { confirmations: N }`,
    );
  return { head, target: Math.min(head, hexToNumber(tagged.number)) };
}
