// A Binance-spot-compatible simulator: the REST endpoints and websocket stream ccxt's `binance` /
// `pro.binance` use for markets and public trades (GET /api/v3/exchangeInfo, /api/v3/trades,
// /api/v3/historicalTrades with `fromId`, /api/v3/aggTrades; the raw `<symbol>@trade` stream with
// SUBSCRIBE), fed by a deterministic TradeGenerator and able to inject faults.
import type { WebSocket } from 'ws';
import { TradeGenerator, type GeneratedTrade, type TradeGeneratorOptions } from './trade-generator.ts';
import {
  FaultyChannel,
  startVenueServer,
  type VenueFaults,
  type VenueServer,
  type VenueStats,
} from './venue-server.ts';

export interface SimMarket {
  /** Venue symbol, e.g. `BTCUSDT` (Binance) or `BTC-USD` (Coinbase). */
  id: string;
  base: string;
  quote: string;
}

export interface VenueSimulatorOptions extends Omit<TradeGeneratorOptions, 'symbols'> {
  markets: SimMarket[];
  faults?: Partial<VenueFaults>;
  /** Seed of the fault injector. */
  faultSeed?: number;
  /** Generator tick (ms). */
  tickMs?: number;
}

export interface VenueSimulator {
  restUrl: string;
  wsUrl: string;
  generator: TradeGenerator;
  faults: VenueFaults;
  stats: VenueStats;
  /** Closes every websocket now (a forced disconnect). */
  disconnectAll(): void;
  /** Starts producing trades. */
  start(): void;
  close(): Promise<void>;
}

function restTrade(t: GeneratedTrade) {
  return {
    id: t.id,
    price: t.price,
    qty: t.amount,
    quoteQty: '0',
    time: t.time,
    isBuyerMaker: t.buyerIsMaker,
    isBestMatch: true,
  };
}

function streamTrade(symbol: string, t: GeneratedTrade) {
  return {
    e: 'trade',
    E: Date.now(),
    s: symbol,
    t: t.id,
    p: t.price,
    q: t.amount,
    T: t.time,
    m: t.buyerIsMaker,
    M: true,
  };
}

function exchangeInfo(markets: SimMarket[]) {
  return {
    timezone: 'UTC',
    serverTime: Date.now(),
    rateLimits: [],
    exchangeFilters: [],
    symbols: markets.map((m) => ({
      symbol: m.id,
      status: 'TRADING',
      baseAsset: m.base,
      baseAssetPrecision: 8,
      quoteAsset: m.quote,
      quotePrecision: 8,
      quoteAssetPrecision: 8,
      baseCommissionPrecision: 8,
      quoteCommissionPrecision: 8,
      orderTypes: ['LIMIT', 'MARKET'],
      icebergAllowed: true,
      ocoAllowed: true,
      quoteOrderQtyMarketAllowed: true,
      allowTrailingStop: true,
      cancelReplaceAllowed: true,
      isSpotTradingAllowed: true,
      isMarginTradingAllowed: false,
      filters: [
        {
          filterType: 'PRICE_FILTER',
          minPrice: '0.00000001',
          maxPrice: '1000000.00000000',
          tickSize: '0.00000001',
        },
        { filterType: 'LOT_SIZE', minQty: '0.00000001', maxQty: '9000.00000000', stepSize: '0.00000001' },
      ],
      permissions: [],
      permissionSets: [['SPOT']],
      defaultSelfTradePreventionMode: 'EXPIRE_MAKER',
      allowedSelfTradePreventionModes: ['EXPIRE_MAKER'],
    })),
  };
}

export async function startBinanceSimulator(opts: VenueSimulatorOptions): Promise<VenueSimulator> {
  const { markets, faults, faultSeed, tickMs, ...gen } = opts;
  const generator = new TradeGenerator({ ...gen, symbols: markets.map((m) => m.id) });
  const known = new Set(markets.map((m) => m.id));
  const subscriptions = new Map<WebSocket, { symbols: Set<string>; channel: FaultyChannel }>();
  const limitOf = (q: URLSearchParams, dflt: number) =>
    Math.min(1000, Math.max(1, Number(q.get('limit') ?? dflt)));
  const badSymbol = { status: 400, body: { code: -1121, msg: 'Invalid symbol.' } };
  const server: VenueServer = await startVenueServer(
    {
      isTradesPath: (p) =>
        p === '/api/v3/historicalTrades' || p === '/api/v3/trades' || p === '/api/v3/aggTrades',
      rest(path, q) {
        if (path === '/api/v3/exchangeInfo') return { status: 200, body: exchangeInfo(markets) };
        if (path === '/api/v3/time') return { status: 200, body: { serverTime: Date.now() } };
        if (path === '/api/v3/ping') return { status: 200, body: {} };
        const symbol = q.get('symbol') ?? '';
        if (path === '/api/v3/trades') {
          if (!known.has(symbol)) return badSymbol;
          return { status: 200, body: generator.recent(symbol, limitOf(q, 500)).map(restTrade) };
        }
        if (path === '/api/v3/historicalTrades') {
          if (!known.has(symbol)) return badSymbol;
          const limit = limitOf(q, 500);
          const fromId = q.get('fromId');
          const trades =
            fromId === null ? generator.recent(symbol, limit) : generator.from(symbol, Number(fromId), limit);
          return { status: 200, body: trades.map(restTrade) };
        }
        if (path === '/api/v3/aggTrades') {
          // Served so a client that pages aggregate ids is visibly wrong: `a` ids live in their own space.
          if (!known.has(symbol)) return badSymbol;
          return {
            status: 200,
            body: generator.recent(symbol, limitOf(q, 500)).map((t) => ({
              a: t.id + 1_000_000_000,
              p: t.price,
              q: t.amount,
              f: t.id,
              l: t.id,
              T: t.time,
              m: t.buyerIsMaker,
              M: true,
            })),
          };
        }
        return null;
      },
      onConnection(ws) {
        const channel = new FaultyChannel(
          server,
          ws,
          () => `{"e":"trade","s":"${markets[0]?.id ?? 'X'}","t":`,
        );
        subscriptions.set(ws, { symbols: new Set(), channel });
        ws.on('message', (data: Buffer) => {
          let msg: { method?: string; params?: string[]; id?: number };
          try {
            msg = JSON.parse(data.toString('utf8')) as typeof msg;
          } catch {
            return ws.send(JSON.stringify({ error: { code: 2, msg: 'Invalid JSON' } }));
          }
          const sub = subscriptions.get(ws);
          if (!sub) return;
          if (msg.method === 'SUBSCRIBE' || msg.method === 'UNSUBSCRIBE') {
            for (const p of msg.params ?? []) {
              const [stream, kind] = p.split('@');
              const id = markets.find((m) => m.id.toLowerCase() === stream)?.id;
              if (!id || kind !== 'trade') continue;
              if (msg.method === 'SUBSCRIBE') sub.symbols.add(id);
              else sub.symbols.delete(id);
            }
            ws.send(JSON.stringify({ result: null, id: msg.id ?? null }));
          }
        });
        // Binance pings every 20 s and drops clients that do not pong; `ws` answers pings itself.
        const ping = setInterval(() => ws.readyState === ws.OPEN && ws.ping(), 20_000);
        ws.on('close', () => clearInterval(ping));
      },
      onClose: (ws) => subscriptions.delete(ws),
    },
    faults ?? {},
    faultSeed ?? 7,
  );

  generator.onTrades((symbol, trades) => {
    for (const [, sub] of subscriptions) {
      if (!sub.symbols.has(symbol)) continue;
      for (const t of trades) sub.channel.push(JSON.stringify(streamTrade(symbol, t)));
    }
  });

  return {
    restUrl: `http://127.0.0.1:${server.port}/api/v3`,
    wsUrl: `ws://127.0.0.1:${server.port}/ws`,
    generator,
    get faults() {
      return server.faults;
    },
    set faults(f: VenueFaults) {
      server.faults = f;
    },
    stats: server.stats,
    disconnectAll: () => server.disconnectAll(),
    start: () => generator.start(tickMs ?? 10),
    async close() {
      generator.stop();
      await server.close();
    },
  };
}
