// Coinbase Exchange through ccxt's `coinbaseexchange` (public, no keys): REST pages trade ids with the
// `after` cursor (ids below it, newest first), the `matches` channel streams them live.
// - 429 surfaces as RateLimitedError with Retry-After.
// - Stream frames are checked before ccxt sees them: unreadable ones become dead letters.
import ccxt, { type Market, type Trade } from 'ccxt';
import {
  RateLimitedError,
  header,
  payloadTrade,
  takeNewTrades,
  parseRetryAfter,
  useExactDecimals,
  type ConnectOptions,
  type MarketRef,
  type RawTrade,
  type VenueAdapter,
  type VenueConnection,
} from '@tributary/ccxt-trades';
import { FatalError } from '@tributary/sdk';
import { coinbaseTradeShape, normalizeCoinbaseTrade } from './parse.ts';

type Dict = Record<string, unknown>;

class CoinbaseRest extends ccxt.coinbaseexchange {
  override handleErrors(
    code: number,
    reason: string,
    url: string,
    method: string,
    headers: Dict,
    body: string,
    response: unknown,
    requestHeaders: unknown,
    requestBody: unknown,
  ) {
    if (code === 429 || code === 418)
      throw new RateLimitedError(
        code,
        parseRetryAfter(header(headers, 'retry-after'), 1_000),
        `coinbase HTTP ${code}: ${body.slice(0, 200)}`,
      );
    return super.handleErrors(
      code,
      reason,
      url,
      method,
      headers,
      body,
      response,
      requestHeaders,
      requestBody,
    );
  }
}

class CoinbaseStream extends ccxt.pro.coinbaseexchange {
  onMalformed: ConnectOptions['onMalformed'] = () => {};
  override handleMessage(
    client: Parameters<InstanceType<typeof ccxt.pro.coinbaseexchange>['handleMessage']>[0],
    message: unknown,
  ): void {
    if (typeof message === 'string') {
      this.onMalformed({
        reason: 'coinbase-malformed-json',
        error: 'frame is not JSON',
        payload: message,
        receivedAt: Date.now(),
      });
      return;
    }
    if (message !== null && typeof message === 'object' && (message as Dict)['type'] === 'match') {
      const r = coinbaseTradeShape.safeParse(message);
      if (!r.success) {
        this.onMalformed({
          reason: 'coinbase-invalid-match-frame',
          error: r.error.message,
          payload: JSON.stringify(message),
          receivedAt: Date.now(),
        });
        return;
      }
    }
    super.handleMessage(client, message as Dict);
  }
  /** Only `trade_id` and the frame itself are read (see payloadTrade); the frame was checked above. */
  override parseWsTrade(trade: Dict, market?: Market): Trade {
    return payloadTrade(
      trade,
      trade['trade_id'],
      this.safeSymbol(this.safeString(trade, 'product_id'), market, '-'),
    );
  }
}

function toRaw(trades: Trade[], receivedAt: number): RawTrade[] {
  return trades.map((t) => ({ id: BigInt(t.id ?? '-1'), info: t.info as unknown, receivedAt }));
}

export const coinbaseAdapter: VenueAdapter = {
  venue: 'coinbase',
  // Coinbase Exchange pages at most 1000 trades (default 100).
  maxPage: 1000,
  async connect(o: ConnectOptions): Promise<VenueConnection> {
    const restApi = o.restUrl ? { public: o.restUrl, private: o.restUrl } : {};
    const common = {
      enableRateLimit: true,
      timeout: o.timeoutMs,
      ...(o.restRateLimitMs !== undefined ? { rateLimit: o.restRateLimitMs } : {}),
      options: { tradesLimit: o.tradesLimit },
      has: { fetchCurrencies: false },
    };
    const rest = new CoinbaseRest({ ...common, urls: { api: restApi } });
    const stream = new CoinbaseStream({
      ...common,
      urls: { api: { ...restApi, ...(o.wsUrl ? { ws: o.wsUrl } : {}) } },
    });
    useExactDecimals(rest);
    useExactDecimals(stream);
    stream.onMalformed = o.onMalformed;
    const ccxtLog = (...args: unknown[]) => o.logger.debug({ ccxt: args.map(String).join(' ') }, 'ccxt');
    Object.assign(rest, { log: ccxtLog });
    Object.assign(stream, { log: ccxtLog });
    if (o.wsUrl?.startsWith('ws://')) await stream.loadHttpProxyAgent();
    try {
      await rest.loadMarkets();
    } catch (err) {
      await Promise.allSettled([rest.close(), stream.close()]);
      throw err;
    }
    stream.setMarkets(rest.markets);
    const refs = new Map<string, MarketRef>();
    const market = (symbol: string): MarketRef => {
      let ref = refs.get(symbol);
      if (!ref) {
        if (!rest.markets || !(symbol in rest.markets))
          throw new FatalError(`coinbase has no market ${symbol}`);
        ref = { symbol, venueSymbol: rest.market(symbol).id ?? symbol };
        refs.set(symbol, ref);
      }
      return ref;
    };
    return {
      market,
      async fetchAfter(symbol, after, limit) {
        market(symbol);
        // `after=X` returns ids below X, newest first: ids after+1 .. after+limit.
        const trades = await rest.fetchTrades(symbol, undefined, limit, {
          after: String(after + BigInt(limit) + 1n),
        });
        return toRaw(trades, Date.now()).filter((t) => t.id > after);
      },
      async latestId(symbol) {
        market(symbol);
        const trades = await rest.fetchTrades(symbol, undefined, 1);
        let max: bigint | null = null;
        for (const t of toRaw(trades, 0)) if (max === null || t.id > max) max = t.id;
        return max;
      },
      async watch(symbol) {
        market(symbol);
        return toRaw(await takeNewTrades(stream, symbol), Date.now());
      },
      normalize: (symbol, t) => normalizeCoinbaseTrade(market(symbol), t),
      async close() {
        await Promise.allSettled([stream.close(), rest.close()]);
      },
    };
  },
};
