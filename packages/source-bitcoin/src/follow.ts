// The task loop: poll the tip, emit each final block as one batch (block, transactions, transfers and the
// offset of that block), and on a reorg retract orphaned blocks first (see reorg.ts). The offset is the
// last emitted block's height and hash, so a restart resumes exactly after it and can tell whether that
// block is still on the best chain.
import {
  deadLetter,
  FatalError,
  sleep,
  withRetry,
  type Logger,
  type SourceBatch,
  type SourceMetrics,
} from '@tributary/sdk';
import type { ChainBackend } from './backends/types.ts';
import type { BitcoinConfig, BitcoinOffset } from './config.ts';
import { BlockDecodeError, decodeBlock, type DecodedBlock } from './decode-block.ts';
import { NotFoundError } from './http.ts';
import { addressParams, chainId } from './networks.ts';
import type { PrevoutResolver } from './prevouts.ts';
import { blockRecords } from './records.ts';
import { retractOrphans } from './reorg.ts';

export interface FollowDeps {
  connector: string;
  config: BitcoinConfig;
  backend: ChainBackend;
  resolver: PrevoutResolver | null;
  start: BitcoinOffset | undefined;
  logger: Logger;
  metrics: SourceMetrics;
  signal: AbortSignal;
}

/** Dead-letter payloads hold the raw block as hex; beyond this it is cut (Kafka's default message limit
 * is 1 MB) and the record says so. The hash still identifies the block on any node. */
const MAX_DEAD_LETTER_HEX = 512 * 1024;

export async function* follow(d: FollowDeps): AsyncGenerator<SourceBatch<BitcoinOffset>> {
  const { config: c, backend, signal, logger } = d;
  const chain = chainId(c.network);
  const net = addressParams(c.network);
  const confirmations = c.finality === 'latest' ? 1 : c.finality.confirmations;
  const retry = <T>(what: string, fn: () => Promise<T>) =>
    withRetry(fn, {
      what,
      signal,
      logger,
      retries: c.retries,
      shouldRetry: (err) => !(err instanceof NotFoundError),
    });
  let cursor: BitcoinOffset | null = d.start ?? null;

  /** Fetches and decodes a block; a block that fails to decode is fetched once more before it counts as
   * bad, so a response damaged in transit is not dead-lettered. */
  const fetchBlock = async (
    hash: string,
  ): Promise<{ block: DecodedBlock } | { error: BlockDecodeError; raw: Uint8Array }> => {
    for (let attempt = 1; ; attempt++) {
      const raw = await retry('getblock', () => backend.rawBlock(hash, signal));
      try {
        const block = decodeBlock(raw, net);
        if (block.hash !== hash)
          throw new BlockDecodeError(`the node returned block ${block.hash} for ${hash}`);
        return { block };
      } catch (err) {
        if (!(err instanceof BlockDecodeError)) throw err;
        if (attempt >= 2) return { error: err, raw };
      }
    }
  };

  while (!signal.aborted) {
    if (c.endHeight !== undefined && cursor && cursor.height >= c.endHeight) return;
    const tip = await retry('getblockcount', () => backend.tipHeight(signal));
    d.metrics.lag(chain, Math.max(0, tip - (cursor?.height ?? c.startHeight - 1)));

    if (cursor) {
      // Is the last emitted block still on the best chain? If not, retract back to the fork point.
      const at =
        cursor.height <= tip
          ? await retry('getblockhash', () => backend.blockHash(cursor!.height, signal))
          : null;
      if (at !== cursor.hash) {
        for await (const batch of retractOrphans({
          connector: d.connector,
          chain,
          net,
          backend,
          cursor,
          maxDepth: c.maxReorgDepth,
          retry,
          logger,
          signal,
          finalityConfirmations: confirmations,
        })) {
          cursor = batch.offset;
          yield batch;
        }
        continue;
      }
    }

    const last = Math.min(tip - (confirmations - 1), c.endHeight ?? Infinity);
    let height = cursor ? cursor.height + 1 : c.startHeight;
    if (height > last) {
      await sleep(c.pollIntervalMs, signal).catch(() => {});
      continue;
    }
    for (; height <= last && !signal.aborted; height++) {
      const h = height;
      const hash = await retry('getblockhash', () => backend.blockHash(h, signal));
      if (hash === null) break; // the chain got shorter under us: re-check from the top
      const fetched = await fetchBlock(hash);
      if ('error' in fetched) {
        const { error, raw } = fetched;
        if (c.onDecodeError === 'fail')
          throw new FatalError(`block ${h} ${hash} does not decode: ${error.message}`, { cause: error });
        logger.warn({ height: h, hash, err: error.message }, 'block does not decode; dead-lettered');
        d.metrics.skipped('bitcoin-block-decode');
        cursor = { height: h, hash };
        yield {
          partition: chain,
          records: [
            deadLetter({
              connector: d.connector,
              reason: 'bitcoin-block-decode',
              error: error.message,
              sourceRef: `${chain}:${h}:${hash}`,
              payload: rawPayload(raw),
            }),
          ],
          offset: cursor,
        };
        continue;
      }
      const { block } = fetched;
      // A block whose parent is not the one we emitted last means a reorg between our calls.
      if (cursor && block.parentHash !== cursor.hash) break;
      const prevouts = d.resolver ? await d.resolver.resolve(block, signal) : null;
      cursor = { height: h, hash };
      yield { partition: chain, records: blockRecords(chain, h, block, 'upsert', prevouts), offset: cursor };
      d.metrics.lag(chain, Math.max(0, tip - h));
    }
  }
}

function rawPayload(raw: Uint8Array): string {
  const hex = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('hex');
  return hex.length <= MAX_DEAD_LETTER_HEX
    ? hex
    : `${hex.slice(0, MAX_DEAD_LETTER_HEX)}...(truncated; ${raw.length} bytes)`;
}
