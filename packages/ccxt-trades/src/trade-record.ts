import type { SourceRecord } from '@tributary/sdk';
import { TOPICS, recordHeaders, type ExchangeTrade } from '@tributary/schemas';
import { isDecimal, multiplyDecimals } from './decimal.ts';

const HEADERS = recordHeaders('exchange.trade');

export interface TradeFields {
  venue: string;
  symbol: string;
  venueSymbol: string;
  tradeId: string;
  price: string;
  amount: string;
  takerSide: 'buy' | 'sell';
  /** Venue time (ms) and, when the venue sends finer text (Coinbase micros), that text. */
  timestampMs: number;
  receivedAt: number;
  sequence: string | null;
}

/** Builds the normalized trade; throws with a readable message when a field is off. Each field is checked
 * where it is made (decimals here, ids and sides by the venue's payload schema, the symbol by the config
 * schema), so the record fits `exchangeTrade` without a second zod parse per trade (a third of this
 * function's cost, and garbage, at tens of thousands of trades a second). The venue tests check every
 * record they get against `exchangeTrade`. */
export function buildTrade(f: TradeFields): ExchangeTrade {
  if (!isDecimal(f.price)) throw new Error(`price is not a decimal: ${JSON.stringify(f.price)}`);
  if (!isDecimal(f.amount)) throw new Error(`amount is not a decimal: ${JSON.stringify(f.amount)}`);
  if (!Number.isFinite(f.timestampMs)) throw new Error('timestamp is missing');
  return {
    venue: f.venue,
    symbol: f.symbol,
    venueSymbol: f.venueSymbol,
    tradeId: f.tradeId,
    price: f.price,
    amount: f.amount,
    quoteAmount: multiplyDecimals(f.price, f.amount),
    takerSide: f.takerSide,
    timestamp: new Date(f.timestampMs).toISOString(),
    receivedAt: new Date(f.receivedAt).toISOString(),
    sequence: f.sequence,
  };
}

export function tradeRecord(t: ExchangeTrade): SourceRecord {
  return {
    topic: TOPICS.exchangeTrades.name,
    key: `${t.venue}:${t.venueSymbol}`,
    value: t,
    headers: HEADERS,
    timestamp: Date.parse(t.timestamp),
  };
}
