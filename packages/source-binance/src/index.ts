// Binance spot public trades into `exchange.trades`, exactly once per venue trade, via ccxt.
import { createTradeSource, tradeSourceConfigSchema } from '@tributary/ccxt-trades';
import type { z } from 'zod';
import { binanceAdapter } from './client.ts';

export const configSchema = tradeSourceConfigSchema;
export { binanceAdapter } from './client.ts';
export { normalizeBinanceTrade, readBinanceTrade, takerSideOf } from './parse.ts';

export const source = createTradeSource({
  type: 'binance',
  description:
    'Binance spot public trades (websocket + REST backfill by raw trade id), exactly once per trade',
  adapter: binanceAdapter,
});

/** Typed helper for connectors.config.ts. */
export function binance(
  name: string,
  config: z.input<typeof configSchema>,
  batch?: { maxRecords?: number; maxMs?: number },
) {
  return { name, type: 'binance', config, ...(batch ? { batch } : {}) };
}
