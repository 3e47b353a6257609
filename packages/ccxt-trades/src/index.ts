// Shared ccxt plumbing for exchange trade sources: the gap-free live + backfill loop per symbol, exact
// decimal normalization to the `exchange.trade` schema, rate-limit handling. A venue package supplies a
// VenueAdapter (how to reach the venue through ccxt and read its payloads) and gets a complete Source.
export { createTradeSource, type TradeSourceOptions } from './trade-source.ts';
export { tradeSourceConfigSchema, type TradeSourceConfig } from './config.ts';
export { followSymbol, type FollowOptions, type TradeOffset } from './follow-symbol.ts';
export { takeNewTrades, payloadTrade, type TradeStream } from './watch-trades.ts';
export { multiplyDecimals, isDecimal } from './decimal.ts';
export { buildTrade, tradeRecord, type TradeFields } from './trade-record.ts';
export { RateLimitedError, parseRetryAfter, header, useExactDecimals } from './rate-limit.ts';
export { restCall, type RestCallOptions } from './rest-call.ts';
export { errorMessage as errorMessageOf } from '@tributary/sdk';
export type {
  VenueAdapter,
  VenueConnection,
  ConnectOptions,
  RawTrade,
  Normalized,
  MalformedFrame,
  MarketRef,
} from './venue.ts';
export { tradeIdSchema, decimalTextSchema } from './payload.ts';
