// The seam between the shared follow loop and one venue: how to reach it through ccxt and how to read
// its raw payloads. A venue package implements `VenueAdapter`; everything else lives here.
import type { Logger } from '@tributary/sdk';
import type { ExchangeTrade } from '@tributary/schemas';

/** A trade as a venue client hands it over: the venue's id and the raw payload it came from. */
export interface RawTrade {
  id: bigint;
  /** The venue's own JSON (ccxt's `info`), the only input to normalization. */
  info: unknown;
  /** When the process received it (ms). */
  receivedAt: number;
}

export type Normalized = { ok: true; trade: ExchangeTrade } | { ok: false; reason: string; error: string };

/** A frame the websocket delivered that could not be read as a trade (kept for the dead-letter topic). */
export interface MalformedFrame {
  reason: string;
  error: string;
  payload: string;
  receivedAt: number;
}

export interface ConnectOptions {
  restUrl?: string | undefined;
  wsUrl?: string | undefined;
  apiKey?: string | undefined;
  /** ccxt's per-symbol trade cache size (`options.tradesLimit`). */
  tradesLimit: number;
  /** Minimum ms between REST calls (ccxt `rateLimit`); venue default when absent. */
  restRateLimitMs?: number | undefined;
  timeoutMs: number;
  onMalformed(frame: MalformedFrame): void;
  logger: Logger;
}

export interface MarketRef {
  /** Unified BASE/QUOTE. */
  symbol: string;
  /** The venue's id for it (BTCUSDT, BTC-USD). */
  venueSymbol: string;
}

export interface VenueConnection {
  market(symbol: string): MarketRef;
  /** Trades with id > `after`, ascending by id, at most `limit` (REST). */
  fetchAfter(symbol: string, after: bigint, limit: number, signal: AbortSignal): Promise<RawTrade[]>;
  /** The newest trade id, or null when the market has none yet (REST). */
  latestId(symbol: string, signal: AbortSignal): Promise<bigint | null>;
  /** Waits for live trades (websocket) and returns the new ones; ccxt's cache is cleared after reading. */
  watch(symbol: string): Promise<RawTrade[]>;
  normalize(symbol: string, trade: RawTrade): Normalized;
  close(): Promise<void>;
}

export interface VenueAdapter {
  /** Venue name in records and keys: 'binance', 'coinbase'. */
  venue: string;
  /** REST page size the venue allows. */
  maxPage: number;
  connect(opts: ConnectOptions): Promise<VenueConnection>;
}
