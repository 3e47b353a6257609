// The connector's `config` block. Errors name the field path (the runtime prefixes the connector).
import { z } from 'zod';
import { secretSchema } from '@tributary/sdk';
import { NETWORK_NAMES } from './networks.ts';

const coreRpc = z.object({
  kind: z.literal('core-rpc'),
  /** JSON-RPC endpoint, e.g. http://127.0.0.1:8332 */
  url: z.url(),
  /** RPC user name (`-rpcuser`). */
  username: z.string().optional(),
  /** RPC password (`-rpcpassword`): a secret. */
  password: secretSchema.optional(),
  /** Fetch raw blocks from Core's REST interface (`-rest`): binary instead of hex inside JSON. */
  rest: z.boolean().default(false),
  timeoutMs: z.number().int().positive().default(30_000),
});

const esplora = z.object({
  kind: z.literal('esplora'),
  /** API base, e.g. https://blockstream.info/api */
  url: z.url(),
  timeoutMs: z.number().int().positive().default(30_000),
});

export const configSchema = z
  .object({
    /** The chain: address encoding and the `chain` field (`bitcoin:<network>`). */
    network: z.enum(NETWORK_NAMES),
    /** Where blocks come from: a Bitcoin Core (or btcd) JSON-RPC node, or an Esplora HTTP API. */
    backend: z.discriminatedUnion('kind', [coreRpc, esplora]),
    /** `{ confirmations: N }` emits a block once it has N confirmations (the tip has 1); `'latest'` emits
     * the tip and retracts orphaned blocks on a reorg. Deeper reorgs are retracted in both modes. */
    finality: z
      .union([z.literal('latest'), z.object({ confirmations: z.number().int().min(1).max(10_000) })])
      .default({ confirmations: 6 }),
    /** First height to emit when there is no committed offset. */
    startHeight: z.number().int().nonnegative().default(0),
    /** Stop after emitting this height (backfills, tests); follows the chain forever when absent. */
    endHeight: z.number().int().nonnegative().optional(),
    /** Wait between polls of the tip once caught up. */
    pollIntervalMs: z.number().int().positive().default(5_000),
    /** Resolve input values and addresses (and fees) from the spent outputs; needs a transaction index
     * (Core `-txindex`, btcd `--txindex`, or any Esplora). Off: those fields are null. */
    resolveInputs: z
      .union([
        z.literal(false),
        z.object({
          /** Transactions whose outputs are kept in memory for later spends. */
          cacheSize: z.number().int().positive().default(100_000),
          /** Rate limit of the lookups of spent transactions. */
          requestsPerSecond: z.number().positive().default(50),
          /** Lookups in flight at once. */
          concurrency: z.number().int().positive().max(64).default(8),
        }),
      ])
      .default(false),
    /** A block that does not decode goes to the dead-letter topic (`deadletter`), or stops the task (`fail`). */
    onDecodeError: z.enum(['deadletter', 'fail']).default('deadletter'),
    /** A reorg deeper than this stops the task: something is wrong with the node, not the chain. */
    maxReorgDepth: z.number().int().positive().default(100),
    /** Retries per request (exponential backoff with jitter) before the task restarts. */
    retries: z.number().int().nonnegative().default(8),
  })
  .refine((c) => c.endHeight === undefined || c.endHeight >= c.startHeight, {
    path: ['endHeight'],
    message: 'must be >= startHeight',
  });

export type BitcoinConfig = z.output<typeof configSchema>;
export type BitcoinConfigInput = z.input<typeof configSchema>;

/** Source position after a batch: the last emitted block. */
export type BitcoinOffset = { height: number; hash: string };
