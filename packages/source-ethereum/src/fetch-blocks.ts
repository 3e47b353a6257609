// Fetching: one block with its full transactions in one call, its receipts in one more (or one per
// transaction where the node lacks eth_getBlockReceipts), and a bounded window of blocks in flight.
import { RetryableError, type Logger } from '@tributary/sdk';
import { isMethodUnsupported, type RawBlock, type RawReceipt, type RpcClient } from './rpc.ts';
import type { FetchedBlock } from './normalize.ts';

export type ReceiptsMode = 'auto' | 'block' | 'transaction';

export class BlockFetcher {
  /** Flips to false on the first "method not supported" and stays there for this task run. */
  #blockReceipts: boolean;

  constructor(
    private readonly rpc: RpcClient,
    private readonly mode: ReceiptsMode,
    private readonly logger: Logger,
  ) {
    this.#blockReceipts = mode !== 'transaction';
  }

  /** The canonical block at `number` now, or null when the node does not have it (yet). */
  async byNumber(number: number): Promise<FetchedBlock | null> {
    return this.withReceipts(await this.rpc.blockWithTransactions(number));
  }

  /** A block by hash, canonical or not (nodes keep recent side blocks; some, like Hardhat, do not). */
  async byHash(hash: string): Promise<FetchedBlock | null> {
    return this.withReceipts(await this.rpc.blockByHash(hash));
  }

  private async withReceipts(block: RawBlock | null): Promise<FetchedBlock | null> {
    if (!block) return null;
    return {
      block,
      receipts: await this.receipts(
        block.hash,
        block.transactions.map((t) => t.hash),
      ),
    };
  }

  async receipts(blockHash: string, txHashes: string[]): Promise<RawReceipt[]> {
    if (txHashes.length === 0) return [];
    if (this.#blockReceipts) {
      try {
        const all = await this.rpc.blockReceipts(blockHash);
        if (all) return this.#check(blockHash, txHashes, all);
      } catch (err) {
        if (this.mode === 'block' || !isMethodUnsupported(err)) throw err;
        this.logger.info(
          { endpoint: this.rpc.endpoint },
          'node has no eth_getBlockReceipts; fetching receipts per transaction',
        );
        this.#blockReceipts = false;
      }
    }
    const receipts = await Promise.all(txHashes.map((h) => this.rpc.receipt(h)));
    return this.#check(blockHash, txHashes, receipts);
  }

  /** Receipts must belong to the block we fetched: a reorg between the two calls would mix two forks. */
  #check(blockHash: string, txHashes: string[], receipts: (RawReceipt | null)[]): RawReceipt[] {
    if (receipts.length !== txHashes.length) {
      throw new RetryableError(
        `block ${blockHash}: ${receipts.length} receipts for ${txHashes.length} transactions`,
      );
    }
    return receipts.map((r, i) => {
      if (
        !r ||
        r.blockHash.toLowerCase() !== blockHash.toLowerCase() ||
        r.transactionHash.toLowerCase() !== txHashes[i]!.toLowerCase()
      ) {
        throw new RetryableError(
          `block ${blockHash}: receipt of ${txHashes[i]} is missing or belongs to another block (reorg in progress?)`,
        );
      }
      return r;
    });
  }
}

/** Blocks `from..to` fetched up to `concurrency` at a time and yielded strictly in order. Prefetched
 * promises get a no-op catch so an error of a block not yet awaited is not an unhandled rejection; it
 * is rethrown when that block's turn comes. */
export async function* inOrder(
  from: number,
  to: number,
  concurrency: number,
  fetch: (n: number) => Promise<FetchedBlock | null>,
): AsyncGenerator<FetchedBlock | null> {
  const inFlight: Promise<FetchedBlock | null>[] = [];
  let next = from;
  const fill = () => {
    while (next <= to && inFlight.length < concurrency) {
      const p = fetch(next++);
      p.catch(() => {});
      inFlight.push(p);
    }
  };
  fill();
  while (inFlight.length > 0) {
    const block = await inFlight.shift()!;
    fill();
    yield block;
  }
}
