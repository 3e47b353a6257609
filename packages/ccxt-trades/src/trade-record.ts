import type { SourceRecord } from '@tributary/sdk';
import { TOPICS, exchangeTrade, recordHeaders, type ExchangeTrade } from '@tributary/schemas';
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

/** Builds and validates the normalized trade; throws with a readable message when a field is off. */
export function buildTrade(f: TradeFields): ExchangeTrade {
  if (!isDecimal(f.price)) throw new Error(`price is not a decimal: ${JSON.stringify(f.price)}`);
  if (!isDecimal(f.amount)) throw new Error(`amount is not a decimal: ${JSON.stringify(f.amount)}`);
  if (!Number.isFinite(f.timestampMs)) throw new Error('timestamp is missing');
  return exchangeTrade.parse({
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
  });
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
