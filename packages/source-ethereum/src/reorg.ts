// Reorg handling. We remember the records of the last `maxReorgDepth` written blocks: when a new block's
// parent is not the last block we wrote, we find the fork point against the node's canonical chain and
// retract everything we wrote above it (newest first), before any record of the new branch.
import { FatalError, type SourceRecord } from '@tributary/sdk';
import { retraction, type NormalizedBlock } from './normalize.ts';
import type { RpcClient } from './rpc.ts';

export class RecentBlocks {
  readonly #blocks: NormalizedBlock[] = [];
  constructor(readonly maxDepth: number) {}

  push(b: NormalizedBlock): void {
    this.#blocks.push(b);
    if (this.#blocks.length > this.maxDepth) this.#blocks.shift();
  }

  /** For rebuilding after a restart: older blocks go in front. */
  unshift(b: NormalizedBlock): void {
    if (this.#blocks.length < this.maxDepth) this.#blocks.unshift(b);
  }

  get size(): number {
    return this.#blocks.length;
  }

  last(): NormalizedBlock | undefined {
    return this.#blocks.at(-1);
  }

  /** Newest first. */
  newestFirst(): NormalizedBlock[] {
    return [...this.#blocks].reverse();
  }

  /** Removes and returns the blocks above `number`, newest first. */
  dropAbove(number: number): NormalizedBlock[] {
    const out: NormalizedBlock[] = [];
    while ((this.#blocks.at(-1)?.number ?? -1) > number) out.push(this.#blocks.pop()!);
    return out;
  }
}

/** The newest remembered block that is still canonical. Fatal when none is: the reorg is deeper than what
 * we can retract, and silently continuing would leave orphaned records standing. */
export async function findForkPoint(
  recent: RecentBlocks,
  rpc: RpcClient,
): Promise<{ number: number; hash: string }> {
  for (const b of recent.newestFirst()) {
    const canonical = await rpc.header(b.number);
    if (canonical && canonical.hash.toLowerCase() === b.hash.toLowerCase())
      return { number: b.number, hash: b.hash };
  }
  const oldest = recent.newestFirst().at(-1);
  throw new FatalError(
    `reorg deeper than the ${recent.size} remembered blocks (oldest ${oldest ? `#${oldest.number} ${oldest.hash}` : 'none'}): ` +
      'raise maxReorgDepth or use a stricter finality, then reset the offset to a canonical block',
  );
}

/** Retractions for orphaned blocks (given newest first): each block's records in reverse write order. */
export function retractionsFor(orphans: readonly NormalizedBlock[]): SourceRecord[] {
  const out: SourceRecord[] = [];
  for (const b of orphans) {
    for (let i = b.records.length - 1; i >= 0; i--) {
      const r = retraction(b.records[i]!);
      if (r) out.push(r);
    }
  }
  return out;
}
