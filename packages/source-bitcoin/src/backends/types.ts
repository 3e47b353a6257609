// What the follower needs from a node, whichever API serves it.

export interface PrevOutput {
  value: bigint;
  script: Uint8Array;
}

export interface ChainBackend {
  readonly kind: 'core-rpc' | 'esplora';
  /** Height of the best chain's tip. */
  tipHeight(signal: AbortSignal): Promise<number>;
  /** Hash of the best-chain block at `height`, or null when the chain is not that long (any more). */
  blockHash(height: number, signal: AbortSignal): Promise<string | null>;
  /** Raw block bytes by hash; orphaned blocks too where the node keeps them (needed to retract them).
   * Throws NotFoundError for an unknown hash. */
  rawBlock(hash: string, signal: AbortSignal): Promise<Uint8Array>;
  /** Outputs of a confirmed transaction (for input values); needs a transaction index on the node. */
  transactionOutputs(txid: string, signal: AbortSignal): Promise<PrevOutput[]>;
}
