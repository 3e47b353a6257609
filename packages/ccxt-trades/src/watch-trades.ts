// Reading a symbol's live trades from a ccxt pro client without stalls. ccxt resolves a `watchTrades`
// call on the NEXT message for the symbol; trades that arrived while the follower was busy elsewhere
// (writing a batch, backfilling another gap) sit in ccxt's cache with no call waiting for them. Awaiting
// a new `watchTrades` would hold them until the venue sends another trade, or until the idle check:
// seconds on a quiet symbol. So unread cached trades are taken at once, and only an empty cache waits.
import type { Trade } from 'ccxt';

/** The part of a ccxt pro exchange this needs (its per-symbol trade caches and `watchTrades`). */
export interface TradeStream {
  trades: Record<string, { length: number; clear(): void } & Iterable<unknown>>;
  watchTrades(symbol: string): Promise<Trade[]>;
}

/** The trades of `symbol` not read before, oldest first; waits only when none are cached. The cache is
 * cleared after every read, so it always holds exactly the unread trades (and memory stays bounded:
 * ccxt would otherwise keep `tradesLimit` per symbol). */
export async function takeNewTrades(stream: TradeStream, symbol: string): Promise<Trade[]> {
  const cached = stream.trades[symbol];
  const trades = cached && cached.length > 0 ? ([...cached] as Trade[]) : await stream.watchTrades(symbol);
  stream.trades[symbol]?.clear();
  return trades;
}

/** A ccxt trade carrying only what the connector reads: the venue's id and payload (`info`), and the
 * symbol (ccxt's cache counts new trades per symbol). Venue stream classes return it from `parseWsTrade`:
 * ccxt's unified trade (fees, timestamps, cost as a Precise string product) is work thrown away at every
 * live trade, since normalization reads the venue's own payload. */
export function payloadTrade(info: Record<string, unknown>, id: unknown, symbol: string | undefined): Trade {
  return {
    info,
    id: typeof id === 'string' || typeof id === 'number' ? String(id) : undefined,
    symbol,
    amount: undefined,
    datetime: undefined,
    order: undefined,
    price: undefined,
    timestamp: undefined,
    type: undefined,
    side: undefined,
    takerOrMaker: undefined,
    cost: undefined,
    fee: undefined,
  };
}
