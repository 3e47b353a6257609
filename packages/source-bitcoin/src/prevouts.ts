// Input values and addresses come from the outputs they spend. Resolution order: the same block (a
// transaction often spends an earlier one in its block), the LRU of recently seen transactions (every
// decoded block is added, and most spends are of recent outputs), then the node — rate-limited, with
// bounded concurrency and retries.
import { withRetry, type Logger } from '@tributary/sdk';
import type { ChainBackend } from './backends/types.ts';
import type { DecodedBlock } from './decode-block.ts';
import { Lru } from './lru.ts';
import type { AddressParams } from './networks.ts';
import { RateLimiter } from './rate-limit.ts';
import { classifyOutputScript, type ScriptType } from './script-types.ts';

export interface ResolvedOutput {
  value: bigint;
  address: string | null;
  type: ScriptType;
}

export interface ResolverOptions {
  cacheSize: number;
  requestsPerSecond: number;
  concurrency: number;
  retries: number;
}

/** `txid:vout` -> the spent output. */
export type Prevouts = ReadonlyMap<string, ResolvedOutput>;

export class PrevoutResolver {
  private readonly cache: Lru<string, ResolvedOutput[]>;
  private readonly limiter: RateLimiter;
  /** Transactions fetched from the node (for tests and metrics). */
  fetched = 0;

  constructor(
    private readonly backend: ChainBackend,
    private readonly net: AddressParams,
    private readonly opts: ResolverOptions,
    private readonly logger: Logger,
  ) {
    this.cache = new Lru(opts.cacheSize);
    this.limiter = new RateLimiter(opts.requestsPerSecond);
  }

  /** Every input of `block` (coinbase excepted) resolved; throws if any cannot be. */
  async resolve(block: DecodedBlock, signal: AbortSignal): Promise<Prevouts> {
    const own = new Map<string, ResolvedOutput[]>();
    for (const tx of block.transactions)
      own.set(
        tx.txid,
        tx.outputs.map((o) => ({ value: o.value, address: o.address, type: o.type })),
      );

    const missing = new Set<string>();
    for (const tx of block.transactions) {
      for (const input of tx.inputs) {
        if (
          input.prevTxid !== null &&
          !own.has(input.prevTxid) &&
          this.cache.get(input.prevTxid) === undefined
        )
          missing.add(input.prevTxid);
      }
    }
    const fetched = new Map<string, ResolvedOutput[]>();
    const queue = [...missing];
    const worker = async () => {
      for (let txid = queue.shift(); txid !== undefined; txid = queue.shift()) {
        const id = txid;
        const outs = await withRetry(
          async () => {
            await this.limiter.acquire(signal);
            return this.backend.transactionOutputs(id, signal);
          },
          { what: `fetch transaction ${id}`, signal, logger: this.logger, retries: this.opts.retries },
        );
        this.fetched++;
        fetched.set(
          id,
          outs.map((o) => ({ value: o.value, ...pick(classifyOutputScript(o.script, this.net)) })),
        );
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.opts.concurrency, queue.length) }, worker));

    const out = new Map<string, ResolvedOutput>();
    for (const tx of block.transactions) {
      for (const input of tx.inputs) {
        if (input.prevTxid === null || input.prevVout === null) continue;
        const outs = own.get(input.prevTxid) ?? fetched.get(input.prevTxid) ?? this.cache.get(input.prevTxid);
        const spent = outs?.[input.prevVout];
        if (!spent)
          throw new Error(`input ${input.prevTxid}:${input.prevVout} of ${tx.txid} could not be resolved`);
        out.set(`${input.prevTxid}:${input.prevVout}`, spent);
      }
    }
    for (const [txid, outs] of fetched) this.cache.set(txid, outs);
    for (const [txid, outs] of own) this.cache.set(txid, outs);
    return out;
  }
}

function pick(c: { address: string | null; type: ScriptType }): { address: string | null; type: ScriptType } {
  return { address: c.address, type: c.type };
}
