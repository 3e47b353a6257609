// Reorg handling: walk back from the last emitted block while it is no longer on the best chain,
// emitting `op: 'retract'` copies of each orphaned block's records, newest first. Each retraction is its
// own batch whose offset is the orphan's parent, so a crash mid-reorg resumes the walk where it stopped.
// The orphaned blocks are fetched again by hash: nodes keep stale blocks (Core, btcd), and the records
// need their contents, not just their hashes.
import type { Logger, SourceBatch } from '@tributary/sdk';
import { deadLetter, FatalError } from '@tributary/sdk';
import type { ChainBackend } from './backends/types.ts';
import type { BitcoinOffset } from './config.ts';
import { BlockDecodeError, decodeBlock } from './decode-block.ts';
import { NotFoundError } from './http.ts';
import type { AddressParams } from './networks.ts';
import { blockRecords } from './records.ts';

export interface RetractDeps {
  connector: string;
  chain: string;
  net: AddressParams;
  backend: ChainBackend;
  cursor: BitcoinOffset;
  maxDepth: number;
  finalityConfirmations: number;
  retry: <T>(what: string, fn: () => Promise<T>) => Promise<T>;
  logger: Logger;
  signal: AbortSignal;
}

export async function* retractOrphans(d: RetractDeps): AsyncGenerator<SourceBatch<BitcoinOffset>> {
  const { backend, signal } = d;
  let cursor = d.cursor;
  for (let depth = 1; ; depth++) {
    const current = cursor;
    const tip = await d.retry('getblockcount', () => backend.tipHeight(signal));
    const onChain =
      current.height <= tip
        ? await d.retry('getblockhash', () => backend.blockHash(current.height, signal))
        : null;
    if (onChain === current.hash) return;
    if (depth > d.maxDepth)
      throw new FatalError(`reorg deeper than maxReorgDepth (${d.maxDepth}) at height ${current.height}`);
    if (depth === d.finalityConfirmations) {
      d.logger.error(
        { height: current.height, hash: current.hash },
        'reorg reached blocks emitted as final; retracting them',
      );
    }
    let raw: Uint8Array;
    try {
      raw = await d.retry('getblock (orphaned)', () => backend.rawBlock(current.hash, signal));
    } catch (err) {
      if (err instanceof NotFoundError)
        throw new FatalError(
          `orphaned block ${current.hash} is not served by the ${backend.kind} backend; cannot retract it`,
          { cause: err },
        );
      throw err;
    }
    let records;
    let parentHash: string;
    try {
      const block = decodeBlock(raw, d.net);
      parentHash = block.parentHash;
      records = blockRecords(d.chain, current.height, block, 'retract', null);
    } catch (err) {
      if (!(err instanceof BlockDecodeError) || raw.length < 80) throw err;
      // It was dead-lettered when emitted; say that it is orphaned now, and walk on via its header.
      parentHash = Buffer.from(raw.subarray(4, 36)).reverse().toString('hex');
      records = [
        deadLetter({
          connector: d.connector,
          reason: 'bitcoin-orphaned-undecodable-block',
          error: err.message,
          sourceRef: `${d.chain}:${current.height}:${current.hash}`,
          payload: '',
        }),
      ];
    }
    d.logger.warn({ height: current.height, hash: current.hash, depth }, 'reorg: retracting orphaned block');
    cursor = { height: current.height - 1, hash: parentHash };
    yield { partition: d.chain, records, offset: cursor };
  }
}
