// Reading Coinbase Exchange trade payloads (REST /products/<id>/trades and the `matches` channel).
// Coinbase's `side` is the MAKER order's side, so the taker side is the opposite. (ccxt's
// coinbaseexchange happens to report the taker side for public trades too, by flipping twice over on the
// websocket path; the connector reads the raw side itself and pins ccxt's behaviour in tests.)
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
const side = z.enum(['buy', 'sell']);

/** Both shapes: REST items have no type; `match` / `last_match` messages add product, sequence, order ids. */
export const coinbaseTradeShape = z.object({
  type: z.enum(['match', 'last_match']).optional(),
  trade_id: tradeId,
  side,
  size: decimalText,
  price: decimalText,
  time: z.iso.datetime({ offset: true }),
  product_id: z.string().optional(),
  sequence: z
    .union([z.number().int(), z.string().regex(/^\d+$/)])
    .transform((v) => String(v))
    .optional(),
});

export function takerSideOfMakerSide(makerSide: 'buy' | 'sell'): 'buy' | 'sell' {
  return makerSide === 'buy' ? 'sell' : 'buy';
}

export function normalizeCoinbaseTrade(market: MarketRef, t: RawTrade): Normalized {
  try {
    const f = coinbaseTradeShape.parse(t.info);
    if (BigInt(f.trade_id) !== t.id) throw new Error(`trade id ${f.trade_id} does not match ${t.id}`);
    if (f.product_id !== undefined && f.product_id !== market.venueSymbol)
      throw new Error(`product ${f.product_id} is not ${market.venueSymbol}`);
    return {
      ok: true,
      trade: buildTrade({
        venue: 'coinbase',
        symbol: market.symbol,
        venueSymbol: market.venueSymbol,
        tradeId: f.trade_id,
        price: f.price,
        amount: f.size,
        takerSide: takerSideOfMakerSide(f.side),
        timestampMs: Date.parse(f.time),
        receivedAt: t.receivedAt,
        // REST trades carry no sequence; the same trade from the stream does. Null rather than guess.
        sequence: f.sequence ?? null,
      }),
    };
  } catch (err) {
    return { ok: false, reason: 'coinbase-invalid-trade', error: errorMessageOf(err) };
  }
}
