// Reading Binance spot trade payloads. Both shapes carry the RAW trade id (REST /api/v3/historicalTrades
// `id`, stream `t`), never the aggregate id `a` of /api/v3/aggTrades, so the two can be compared.
// Binance's flag is `isBuyerMaker` / `m`: true means the resting order was the buyer, so the TAKER SOLD.
import { z } from 'zod';
import {
  buildTrade,
  decimalTextSchema,
  errorMessageOf,
  tradeIdSchema,
  type MarketRef,
  type Normalized,
  type RawTrade,
} from '@tributary/ccxt-trades';

const tradeId = tradeIdSchema;
const decimalText = decimalTextSchema;
const millis = z.union([z.number().int(), z.string().regex(/^\d+$/)]).transform(Number);

/** GET /api/v3/historicalTrades and /api/v3/trades item. */
export const restTradeShape = z.object({
  id: tradeId,
  price: decimalText,
  qty: decimalText,
  time: millis,
  isBuyerMaker: z.boolean(),
});
/** `<symbol>@trade` stream event. */
export const streamTradeShape = z.object({
  e: z.literal('trade'),
  s: z.string(),
  t: tradeId,
  p: decimalText,
  q: decimalText,
  T: millis,
  m: z.boolean(),
});

export interface BinanceTradeFields {
  id: string;
  price: string;
  amount: string;
  buyerIsMaker: boolean;
  time: number;
}

export function readBinanceTrade(info: unknown): BinanceTradeFields {
  // Pick the shape by the event field: trying the stream shape on every REST item first would build a
  // zod error per backfilled trade (about ten times the cost of the parse itself).
  if (info !== null && typeof info === 'object' && 'e' in info) {
    const s = streamTradeShape.parse(info);
    return { id: s.t, price: s.p, amount: s.q, buyerIsMaker: s.m, time: s.T };
  }
  const r = restTradeShape.parse(info);
  return { id: r.id, price: r.price, amount: r.qty, buyerIsMaker: r.isBuyerMaker, time: r.time };
}

export function takerSideOf(buyerIsMaker: boolean): 'buy' | 'sell' {
  return buyerIsMaker ? 'sell' : 'buy';
}

export function normalizeBinanceTrade(market: MarketRef, t: RawTrade): Normalized {
  try {
    const f = readBinanceTrade(t.info);
    if (BigInt(f.id) !== t.id) throw new Error(`trade id ${f.id} does not match ${t.id}`);
    return {
      ok: true,
      trade: buildTrade({
        venue: 'binance',
        symbol: market.symbol,
        venueSymbol: market.venueSymbol,
        tradeId: f.id,
        price: f.price,
        amount: f.amount,
        takerSide: takerSideOf(f.buyerIsMaker),
        timestampMs: f.time,
        receivedAt: t.receivedAt,
        sequence: null,
      }),
    };
  } catch (err) {
    return { ok: false, reason: 'binance-invalid-trade', error: errorMessageOf(err) };
  }
}
