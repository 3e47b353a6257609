// Coinbase Exchange public trades into `exchange.trades`, exactly once per venue trade, via ccxt.
import { createTradeSource, tradeSourceConfigSchema } from '@tributary/ccxt-trades';
import type { z } from 'zod';
import { coinbaseAdapter } from './client.ts';

export const configSchema = tradeSourceConfigSchema;
export { coinbaseAdapter } from './client.ts';
export { normalizeCoinbaseTrade, takerSideOfMakerSide, coinbaseTradeShape } from './parse.ts';

export const source = createTradeSource({
  type: 'coinbase',
  description:
    'Coinbase Exchange public trades (matches channel + REST backfill by trade_id), exactly once per trade',
  adapter: coinbaseAdapter,
});

/** Typed helper for connectors.config.ts. */
export function coinbase(
  name: string,
  config: z.input<typeof configSchema>,
  batch?: { maxRecords?: number; maxMs?: number },
) {
  return { name, type: 'coinbase', config, ...(batch ? { batch } : {}) };
}
