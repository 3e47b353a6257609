import { z } from 'zod';
import { secretSchema } from '@tributary/sdk';

/** Which blocks count as final enough to write. `latest` follows the head and relies on reorg handling;
 * `{ confirmations: N }` stays N blocks behind it; `safe`/`finalized` use the node's consensus tags. */
export const finalitySchema = z.union([
  z.enum(['finalized', 'safe', 'latest']),
  z.object({ confirmations: z.number().int().nonnegative().max(10_000) }).strict(),
]);
export type Finality = z.output<typeof finalitySchema>;

export const configSchema = z.object({
  /** JSON-RPC endpoint, `http(s)://` or `ws(s)://`. A secret: provider URLs usually embed an API key. */
  url: secretSchema.refine(
    (s) => /^(https?|wss?):\/\/[^\s]+$/i.test(s.reveal()),
    'expected an http(s):// or ws(s):// URL',
  ),
  /** Expected chain id; the node's `eth_chainId` must match (a wrong endpoint is fatal, not silent). */
  chainId: z.number().int().positive().optional(),
  /** Prefix of the record key and `chain` field: `<chain>:<chainId>`, e.g. `ethereum:1`. */
  chain: z
    .string()
    .regex(/^[a-z0-9-]+$/, 'lowercase letters, digits and "-" only')
    .default('ethereum'),
  /** First block on first start (a stored offset wins). */
  startBlock: z.number().int().nonnegative().default(0),
  /** Last block to write; the task finishes after it. Follows the head forever when absent. */
  endBlock: z.number().int().nonnegative().optional(),
  /** Which blocks are final enough to write: `latest` (reorgs retracted), `{ confirmations: N }` (N behind
   * the head), or the node's `safe`/`finalized` tags. */
  finality: finalitySchema.default('finalized'),
  /** Blocks fetched concurrently (written in order). Lower it for a provider that rate-limits. */
  concurrency: z.number().int().min(1).max(512).default(32),
  /** JSON-RPC requests per HTTP batch (ethers `batchMaxCount`); 1 disables batching. Small batches, several
   * at a time: geth answers one batch in one goroutine, so large batches kept it on one core. */
  batchMaxCount: z.number().int().min(1).max(1000).default(16),
  /** `auto` tries `eth_getBlockReceipts` and falls back to one `eth_getTransactionReceipt` per tx. */
  receipts: z.enum(['auto', 'block', 'transaction']).default('auto'),
  /** Put every log (address, topics, data) in the transaction's `extra.logs`; false keeps `extra.logCount` only. */
  includeLogs: z.boolean().default(true),
  /** How often to poll for a new head once caught up. */
  pollIntervalMs: z.number().int().positive().default(2_000),
  /** Time limit of one JSON-RPC request. */
  requestTimeoutMs: z.number().int().positive().default(30_000),
  /** Retries per RPC call (exponential backoff) before the task restarts from its committed offset. */
  retries: z.number().int().nonnegative().default(8),
  /** Blocks remembered for retractions; a deeper reorg is fatal (it needs an operator). */
  maxReorgDepth: z.number().int().min(1).max(10_000).default(64),
});

export type EthereumConfig = z.output<typeof configSchema>;
export type EthereumConfigInput = z.input<typeof configSchema>;
