// Binance through ccxt, with the adjustments exactly-once needs:
// - REST pages raw trade ids with `fromId` on /api/v3/historicalTrades (ccxt's default fetchTrades pages
//   aggregate ids, a different id space than the stream's `t`).
// - ccxt 4.5.x refuses historicalTrades without an apiKey; the key is sent when configured, otherwise the
//   request goes out unsigned (see README).
// - 429/418 surface as RateLimitedError carrying Retry-After (ccxt drops the header).
// - Stream frames are checked before ccxt sees them: unreadable ones become dead letters, not crashes.
import ccxt, { type Market, type Trade } from 'ccxt';
import {
  RateLimitedError,
  header,
  payloadTrade,
  takeNewTrades,
  useExactDecimals,
  parseRetryAfter,
  type ConnectOptions,
  type MarketRef,
  type RawTrade,
  type VenueAdapter,
  type VenueConnection,
} from '@tributary/ccxt-trades';
import { FatalError } from '@tributary/sdk';
import { normalizeBinanceTrade, streamTradeShape } from './parse.ts';

type Dict = Record<string, unknown>;

function rateLimitError(code: number, headers: Dict | undefined, body: string): RateLimitedError | undefined {
  if (code !== 429 && code !== 418) return undefined;
  return new RateLimitedError(
    code,
    parseRetryAfter(header(headers, 'retry-after'), 1_000),
    `binance HTTP ${code}: ${body.slice(0, 200)}`,
  );
}

class BinanceRest extends ccxt.binance {
  override sign(
    path: string,
    api: string = 'public',
    method = 'GET',
    params: Dict = {},
    headers?: Dict,
    body?: string,
  ): Dict {
    if (path === 'historicalTrades' && !this.apiKey) {
      const query = this.urlencode(params);
      return {
        url: `${this.urls['api'] ? (this.urls['api'] as Dict)[api] : ''}/${path}${query ? `?${query}` : ''}`,
        method,
        body,
        headers: headers ?? {},
      };
    }
    return super.sign(path, api, method, params, headers, body);
  }
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
  ): undefined {
    const rl = rateLimitError(code, headers, body);
    if (rl) throw rl;
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

class BinanceStream extends ccxt.pro.binance {
  onMalformed: ConnectOptions['onMalformed'] = () => {};
  override handleMessage(
    client: Parameters<InstanceType<typeof ccxt.pro.binance>['handleMessage']>[0],
    message: unknown,
  ): void {
    if (typeof message === 'string') {
      // ccxt passes the raw text on when JSON.parse fails.
      this.onMalformed({
        reason: 'binance-malformed-json',
        error: 'frame is not JSON',
        payload: message,
        receivedAt: Date.now(),
      });
      return;
    }
    if (message !== null && typeof message === 'object' && (message as Dict)['e'] === 'trade') {
      const r = streamTradeShape.safeParse(message);
      if (!r.success) {
        this.onMalformed({
          reason: 'binance-invalid-trade-frame',
          error: r.error.message,
          payload: JSON.stringify(message),
          receivedAt: Date.now(),
        });
        return;
      }
    }
    super.handleMessage(client, message);
  }
  /** Only the raw id (`t`) and the frame itself are read (see payloadTrade); the frame was checked above. */
  override parseWsTrade(trade: Dict, market?: Market): Trade {
    return payloadTrade(trade, trade['t'], market?.symbol);
  }
}

function toRaw(trades: Trade[], receivedAt: number): RawTrade[] {
  return trades.map((t) => ({ id: BigInt(t.id ?? '-1'), info: t.info as unknown, receivedAt }));
}

export const binanceAdapter: VenueAdapter = {
  venue: 'binance',
  maxPage: 1000,
  async connect(o: ConnectOptions): Promise<VenueConnection> {
    const restApi = o.restUrl ? { public: o.restUrl, v1: o.restUrl } : {};
    const common = {
      enableRateLimit: true,
      timeout: o.timeoutMs,
      ...(o.apiKey ? { apiKey: o.apiKey } : {}),
      ...(o.restRateLimitMs !== undefined ? { rateLimit: o.restRateLimitMs } : {}),
      // Spot only: fewer endpoints to load, and a stream symbol like BTCUSDT maps to one market.
      options: {
        fetchMarkets: { types: ['spot'] },
        fetchCurrencies: false,
        fetchMargins: false,
        tradesLimit: o.tradesLimit,
      },
    };
    const rest = new BinanceRest({ ...common, urls: { api: restApi } });
    const stream = new BinanceStream({
      ...common,
      urls: { api: { ...restApi, ...(o.wsUrl ? { ws: { spot: o.wsUrl } } : {}) } },
    });
    // Exact decimals: ccxt keeps the venue's strings instead of parsing floats.
    useExactDecimals(rest);
    useExactDecimals(stream);
    stream.onMalformed = o.onMalformed;
    // ccxt prints socket diagnostics (e.g. JSON.parse failures) with console.log; route them to our logger.
    const ccxtLog = (...args: unknown[]) => o.logger.debug({ ccxt: args.map(String).join(' ') }, 'ccxt');
    Object.assign(rest, { log: ccxtLog });
    Object.assign(stream, { log: ccxtLog });
    // ccxt refuses plain ws:// unless its http agent is loaded first.
    if (o.wsUrl?.startsWith('ws://')) await stream.loadHttpProxyAgent();
    try {
      await rest.loadMarkets();
    } catch (err) {
      await Promise.allSettled([rest.close(), stream.close()]);
      throw err;
    }
    // One exchangeInfo call serves both clients.
    stream.setMarkets(rest.markets);
    const refs = new Map<string, MarketRef>();
    const market = (symbol: string): MarketRef => {
      let ref = refs.get(symbol);
      if (!ref) {
        if (!rest.markets || !(symbol in rest.markets))
          throw new FatalError(`binance has no spot market ${symbol}`);
        ref = { symbol, venueSymbol: rest.market(symbol).id ?? symbol };
        refs.set(symbol, ref);
      }
      return ref;
    };
    return {
      market,
      async fetchAfter(symbol, after, limit) {
        market(symbol);
        const trades = await rest.fetchTrades(symbol, undefined, limit, {
          fetchTradesMethod: 'publicGetHistoricalTrades',
          fromId: String(after + 1n),
        });
        return toRaw(trades, Date.now());
      },
      async latestId(symbol) {
        market(symbol);
        const trades = await rest.fetchTrades(symbol, undefined, 1, { fetchTradesMethod: 'publicGetTrades' });
        const last = trades[trades.length - 1];
        return last?.id ? BigInt(last.id) : null;
      },
      async watch(symbol) {
        market(symbol);
        return toRaw(await takeNewTrades(stream, symbol), Date.now());
      },
      normalize: (symbol, t) => normalizeBinanceTrade(market(symbol), t),
      async close() {
        await Promise.allSettled([stream.close(), rest.close()]);
      },
    };
  },
};
