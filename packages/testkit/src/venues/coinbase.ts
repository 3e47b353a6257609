// A Coinbase-Exchange-compatible simulator: what ccxt's `coinbaseexchange` / `pro.coinbaseexchange` use
// for markets and public trades (GET /products, /currencies, /products/<id>/trades with `after` /
// `before` cursors, newest first; the `matches` websocket channel with `subscriptions`, `last_match` and
// `match` messages), fed by a deterministic TradeGenerator and able to inject faults.
import type { WebSocket } from 'ws';
import { TradeGenerator, type GeneratedTrade } from './trade-generator.ts';
import { FaultyChannel, startVenueServer, type VenueFaults, type VenueServer } from './venue-server.ts';
import type { VenueSimulator, VenueSimulatorOptions } from './binance.ts';

/** Coinbase reports the MAKER order's side on a match: a resting buyer (buyer is maker) shows 'buy'. */
function makerSide(t: GeneratedTrade): 'buy' | 'sell' {
  return t.buyerIsMaker ? 'buy' : 'sell';
}

function isoMicros(ms: number): string {
  return new Date(ms).toISOString().replace('Z', '000Z');
}

function restTrade(t: GeneratedTrade) {
  return { trade_id: t.id, side: makerSide(t), size: t.amount, price: t.price, time: isoMicros(t.time) };
}

function matchMessage(type: 'match' | 'last_match', product: string, t: GeneratedTrade, sequence: number) {
  const oid = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  return {
    type,
    trade_id: t.id,
    maker_order_id: oid(t.id * 2),
    taker_order_id: oid(t.id * 2 + 1),
    side: makerSide(t),
    size: t.amount,
    price: t.price,
    product_id: product,
    sequence,
    time: isoMicros(t.time),
  };
}

export async function startCoinbaseSimulator(opts: VenueSimulatorOptions): Promise<VenueSimulator> {
  const { markets, faults, faultSeed, tickMs, ...gen } = opts;
  const generator = new TradeGenerator({ ...gen, symbols: markets.map((m) => m.id) });
  const known = new Set(markets.map((m) => m.id));
  const subscriptions = new Map<WebSocket, { symbols: Set<string>; channel: FaultyChannel }>();
  // The order book sequence advances with every message of a product; matches show gaps in it.
  const sequenceOf = (t: GeneratedTrade) => t.id * 3 + 1000;
  const server: VenueServer = await startVenueServer(
    {
      isTradesPath: (p) => /^\/products\/[^/]+\/trades$/.test(p),
      rest(path, q) {
        if (path === '/products') {
          return {
            status: 200,
            body: markets.map((m) => ({
              id: m.id,
              base_currency: m.base,
              quote_currency: m.quote,
              quote_increment: '0.00000001',
              base_increment: '0.00000001',
              display_name: `${m.base}-${m.quote}`,
              min_market_funds: '1',
              margin_enabled: false,
              post_only: false,
              limit_only: false,
              cancel_only: false,
              status: 'online',
              status_message: '',
              trading_disabled: false,
              fx_stablecoin: false,
              max_slippage_percentage: '0.03',
              auction_mode: false,
              high_bid_limit_percentage: '',
            })),
          };
        }
        if (path === '/currencies') {
          const codes = [...new Set(markets.flatMap((m) => [m.base, m.quote]))];
          return {
            status: 200,
            body: codes.map((c) => ({
              id: c,
              name: c,
              min_size: '0.00000001',
              status: 'online',
              message: '',
              max_precision: '0.00000001',
              convertible_to: [],
              details: { type: 'crypto' },
            })),
          };
        }
        const m = /^\/products\/([^/]+)\/trades$/.exec(path);
        if (m) {
          const product = m[1]!;
          if (!known.has(product)) return { status: 404, body: { message: 'NotFound' } };
          const limit = Math.min(1000, Math.max(1, Number(q.get('limit') ?? 100)));
          const after = q.get('after');
          const before = q.get('before');
          let trades: GeneratedTrade[];
          if (after !== null) {
            // Older than the cursor: ids below `after`, newest first.
            const upTo = Number(after) - 1;
            trades = generator
              .from(product, Math.max(1, upTo - limit + 1), limit)
              .filter((t) => t.id <= upTo);
          } else if (before !== null) {
            // Newer than the cursor: the ids just above `before`.
            trades = generator.from(product, Number(before) + 1, limit);
          } else trades = generator.recent(product, limit);
          const body = trades.map(restTrade).reverse();
          const headers: Record<string, string> = {};
          if (body.length) {
            headers['CB-BEFORE'] = String(body[0]!.trade_id);
            headers['CB-AFTER'] = String(body[body.length - 1]!.trade_id);
          }
          return { status: 200, body, headers };
        }
        return null;
      },
      onConnection(ws) {
        const channel = new FaultyChannel(server, ws, () => '{"type":"match","trade_id":');
        subscriptions.set(ws, { symbols: new Set(), channel });
        ws.on('message', (data: Buffer) => {
          let msg: { type?: string; product_ids?: string[]; channels?: (string | { name: string })[] };
          try {
            msg = JSON.parse(data.toString('utf8')) as typeof msg;
          } catch {
            return ws.send(
              JSON.stringify({ type: 'error', message: 'Failed to subscribe', reason: 'malformed JSON' }),
            );
          }
          const sub = subscriptions.get(ws);
          if (!sub) return;
          const wantsMatches = (msg.channels ?? []).some(
            (c) => (typeof c === 'string' ? c : c.name) === 'matches',
          );
          if (msg.type !== 'subscribe' && msg.type !== 'unsubscribe') return;
          const products = (msg.product_ids ?? []).filter((p) => known.has(p));
          if (wantsMatches) {
            for (const p of products) {
              if (msg.type === 'subscribe') {
                sub.symbols.add(p);
                const last = generator.recent(p, 1)[0];
                if (last) ws.send(JSON.stringify(matchMessage('last_match', p, last, sequenceOf(last))));
              } else sub.symbols.delete(p);
            }
          }
          ws.send(
            JSON.stringify({
              type: 'subscriptions',
              channels: [{ name: 'matches', product_ids: [...sub.symbols] }],
            }),
          );
        });
      },
      onClose: (ws) => subscriptions.delete(ws),
    },
    faults ?? {},
    faultSeed ?? 11,
  );

  generator.onTrades((product, trades) => {
    for (const [, sub] of subscriptions) {
      if (!sub.symbols.has(product)) continue;
      for (const t of trades)
        sub.channel.push(JSON.stringify(matchMessage('match', product, t, sequenceOf(t))));
    }
  });

  return {
    restUrl: `http://127.0.0.1:${server.port}`,
    wsUrl: `ws://127.0.0.1:${server.port}`,
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
