import { z } from 'zod';
import { secretSchema } from '@tributary/sdk';

const unifiedSymbol = z
  .string()
  .regex(/^[A-Z0-9]+\/[A-Z0-9]+$/, 'expected a unified symbol BASE/QUOTE, e.g. BTC/USDT');

export const tradeSourceConfigSchema = z.object({
  /** Unified symbols to follow (BASE/QUOTE); each is one source partition with its own offset. */
  symbols: z
    .array(unifiedSymbol)
    .min(1)
    .refine((s) => new Set(s).size === s.length, 'symbols must be unique'),
  /** Override of the venue's REST base URL (a proxy, a regional endpoint, a simulator). */
  restUrl: z.url().optional(),
  /** Override of the venue's websocket URL. */
  wsUrl: z.url({ protocol: /^wss?$/ }).optional(),
  /** Optional API key: sent where the venue wants one for market data (Binance historicalTrades). */
  apiKey: secretSchema.optional(),
  /** Where a symbol with no committed offset begins: after the venue's newest trade, or after a trade id. */
  startFrom: z
    .union([z.literal('latest'), z.object({ afterId: z.string().regex(/^\d+$/, 'expected a trade id') })])
    .default('latest'),
  /** Trades per yielded batch. */
  batchSize: z.number().int().positive().max(10_000).default(500),
  /** REST page size; capped at the venue's maximum. */
  pageSize: z.number().int().positive().max(1000).default(1000),
  /** Ask REST for missed trades when the stream has been quiet this long. */
  idleCheckMs: z.number().int().positive().default(5_000),
  /** REST attempts to fill a gap before accepting that the ids do not exist (REST may lag the stream). */
  gapRetries: z.number().int().nonnegative().default(3),
  /** Pause between those attempts. */
  gapRetryMs: z.number().int().nonnegative().default(250),
  /** ccxt's per-symbol trade cache; cleared after every read, so this only bounds a burst. */
  tradesLimit: z.number().int().positive().default(1000),
  /** Minimum ms between REST calls (ccxt's throttle); the venue's published default when absent. */
  restRateLimitMs: z.number().nonnegative().optional(),
  /** Time limit of one REST request. */
  requestTimeoutMs: z.number().int().positive().default(10_000),
  /** REST failures (other than rate limits) before the task restarts from its committed offset. */
  restRetries: z.number().int().nonnegative().default(6),
  /** Cap on a venue's Retry-After (a ban can ask for hours; better restart and log loudly). */
  maxRetryAfterMs: z.number().int().positive().default(120_000),
  /** Websocket reconnect backoff: the first wait, doubled per failure up to `reconnectMaxMs` (jittered). */
  reconnectMinMs: z.number().int().positive().default(250),
  reconnectMaxMs: z.number().int().positive().default(30_000),
});

export type TradeSourceConfig = z.output<typeof tradeSourceConfigSchema>;
export type TradeTaskConfig = TradeSourceConfig;
