// The task: resume (checking the stored block is still canonical), backfill to the finality target, then
// follow it; one batch per block, offset = the block just written, retractions in their own batch.
import {
  FatalError,
  RetryableError,
  sleep,
  type SourceBatch,
  type SourceRecord,
  type TaskContext,
} from '@tributary/sdk';
import type { EthereumConfig } from './config.ts';
import { BlockFetcher, inOrder } from './fetch-blocks.ts';
import { heads } from './finality.ts';
import { AddressCache } from './hex.ts';
import {
  normalizeBlock,
  type FetchedBlock,
  type NormalizeContext,
  type NormalizedBlock,
} from './normalize.ts';
import { RecentBlocks, findForkPoint, retractionsFor } from './reorg.ts';
import { RpcClient } from './rpc.ts';

/** The last block written. The next run starts at `blockNumber + 1`, after checking `blockHash`. */
export type EthereumOffset = { blockNumber: number; blockHash: string };

type Ctx = TaskContext<EthereumConfig, EthereumOffset>;

const sameHash = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export async function* streamChain(ctx: Ctx): AsyncGenerator<SourceBatch<EthereumOffset>> {
  const c = ctx.config;
  const rpc = new RpcClient({
    url: c.url.reveal(),
    batchMaxCount: c.batchMaxCount,
    requestTimeoutMs: c.requestTimeoutMs,
    retries: c.retries,
    logger: ctx.logger,
    signal: ctx.signal,
  });
  try {
    const chainId = await rpc.chainId();
    if (c.chainId !== undefined && chainId !== c.chainId) {
      throw new FatalError(
        `${rpc.endpoint} serves chain ${chainId}, but the connector is configured for chain ${c.chainId}`,
      );
    }
    const partition = String(chainId);
    const norm: NormalizeContext = {
      connector: ctx.connector,
      chain: `${c.chain}:${chainId}`,
      includeLogs: c.includeLogs,
      addresses: new AddressCache(),
    };
    const fetcher = new BlockFetcher(rpc, c.receipts, ctx.logger);
    const recent = new RecentBlocks(c.maxReorgDepth);
    const normalize = (f: FetchedBlock) => normalizeBlock(f, norm);

    let cursor = ctx.offsets.get(partition) ?? null;
    ctx.logger.info(
      { endpoint: rpc.endpoint, chainId, resumeAfter: cursor?.blockNumber ?? null, startBlock: c.startBlock },
      'ethereum source starting',
    );
    if (cursor) {
      const retracted = await resume(cursor, rpc, fetcher, recent, normalize, ctx);
      if (retracted) {
        cursor = retracted.offset;
        yield { partition, ...retracted };
      }
    }

    let next = cursor ? cursor.blockNumber + 1 : c.startBlock;
    while (!ctx.signal.aborted) {
      if (c.endBlock !== undefined && next > c.endBlock) return;
      const { head, target } = await heads(rpc, c.finality);
      ctx.metrics.lag(partition, Math.max(0, head - next + 1));
      const to = Math.min(target, c.endBlock ?? Number.POSITIVE_INFINITY);
      if (next > to) {
        await sleep(c.pollIntervalMs, ctx.signal).catch(() => {});
        continue;
      }
      for await (const fetched of inOrder(next, to, c.concurrency, (n) => fetcher.byNumber(n))) {
        // The node lost the block between eth_blockNumber and now (a reorg shortened the chain): re-poll.
        if (!fetched) break;
        const b = normalize(fetched);
        if (cursor && !sameHash(b.parentHash, cursor.blockHash)) {
          const fork = await findForkPoint(recent, rpc);
          const orphans = recent.dropAbove(fork.number);
          cursor = { blockNumber: fork.number, blockHash: fork.hash };
          next = fork.number + 1;
          if (orphans.length > 0) {
            ctx.logger.warn(
              { forkPoint: fork.number, orphaned: orphans.map((o) => `#${o.number} ${o.hash}`) },
              'reorg: retracting orphaned blocks',
            );
            yield { partition, records: retractionsFor(orphans), offset: cursor };
          }
          break;
        }
        for (const reason of b.skipped) ctx.metrics.skipped(reason);
        recent.push(b);
        cursor = { blockNumber: b.number, blockHash: b.hash };
        next = b.number + 1;
        ctx.metrics.lag(partition, Math.max(0, head - b.number));
        yield { partition, records: b.records, offset: cursor };
        if (ctx.signal.aborted) return;
      }
    }
  } finally {
    await rpc.close();
  }
}

/** On restart: if the stored block is still canonical, re-read the last few blocks we wrote (near the head
 * only) so a later reorg can retract them; if it is not, retract the orphaned blocks now, as far as the
 * node still serves them by hash. */
async function resume(
  cursor: EthereumOffset,
  rpc: RpcClient,
  fetcher: BlockFetcher,
  recent: RecentBlocks,
  normalize: (f: FetchedBlock) => NormalizedBlock,
  ctx: Ctx,
): Promise<{ records: SourceRecord[]; offset: EthereumOffset } | null> {
  const canonical = await rpc.header(cursor.blockNumber);
  if (canonical && sameHash(canonical.hash, cursor.blockHash)) {
    const head = await rpc.blockNumber();
    const from = Math.max(0, cursor.blockNumber - recent.maxDepth + 1, head - recent.maxDepth + 1);
    if (from > cursor.blockNumber) return null;
    const blocks: NormalizedBlock[] = [];
    for await (const f of inOrder(from, cursor.blockNumber, ctx.config.concurrency, (n) =>
      fetcher.byNumber(n),
    )) {
      if (!f)
        throw new RetryableError(`block ${from + blocks.length} vanished while re-reading recent blocks`);
      const b = normalize(f);
      const prev = blocks.at(-1);
      if (prev && !sameHash(b.parentHash, prev.hash))
        throw new RetryableError(`reorg while re-reading recent blocks at #${b.number}`);
      blocks.push(b);
    }
    if (!sameHash(blocks.at(-1)!.hash, cursor.blockHash))
      throw new RetryableError(`reorg while re-reading recent blocks at #${cursor.blockNumber}`);
    for (const b of blocks) recent.push(b);
    return null;
  }

  // The stored block was orphaned while we were down. Walk back its ancestry by hash to the fork point.
  const orphans: NormalizedBlock[] = [];
  let hash = cursor.blockHash;
  let number = cursor.blockNumber;
  for (;;) {
    if (orphans.length >= recent.maxDepth) {
      throw new FatalError(
        `stored offset #${cursor.blockNumber} ${cursor.blockHash} is on a fork deeper than maxReorgDepth (${recent.maxDepth})`,
      );
    }
    const f = await fetcher.byHash(hash);
    if (!f) {
      throw new FatalError(
        `stored offset block #${number} ${hash} is no longer canonical and ${rpc.endpoint} does not serve it by hash, ` +
          'so its records cannot be retracted; retract them downstream and reset the offset to a canonical block',
      );
    }
    const b = normalize(f);
    orphans.push(b);
    const parent = await rpc.header(b.number - 1);
    if (parent && sameHash(parent.hash, b.parentHash)) {
      ctx.logger.warn(
        { forkPoint: b.number - 1, orphaned: orphans.map((o) => `#${o.number} ${o.hash}`) },
        'reorg while stopped: retracting orphaned blocks',
      );
      return {
        records: retractionsFor(orphans),
        offset: { blockNumber: b.number - 1, blockHash: b.parentHash },
      };
    }
    hash = b.parentHash;
    number = b.number - 1;
  }
}
