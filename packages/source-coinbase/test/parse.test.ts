// The recorded payloads through ccxt and through the connector's own reading, pinning the side trap.
import { describe, expect, it } from 'vitest';
import ccxt, { type Trade } from 'ccxt';
import { useExactDecimals } from '@tributary/ccxt-trades';
import { normalizeCoinbaseTrade, takerSideOfMakerSide } from '../src/index.ts';
import { fixture } from './fixtures.ts';

interface RestEntry {
  httpResponse: Record<string, unknown>[];
  parsedResponse: Trade[];
}
const rest = fixture<{ response: { methods: { fetchTrades: RestEntry[] } } }>('coinbaseexchange.trades.json')
  .response.methods.fetchTrades[0]!;
const market = { symbol: 'BTC/USDT', venueSymbol: 'BTC-USDT' };

function exchange() {
  const ex = new ccxt.pro.coinbaseexchange();
  useExactDecimals(ex);
  ex.setMarkets([
    {
      id: 'BTC-USDT',
      symbol: 'BTC/USDT',
      base: 'BTC',
      quote: 'USDT',
      baseId: 'BTC',
      quoteId: 'USDT',
      type: 'spot',
      spot: true,
      active: true,
      precision: {},
      limits: {},
    } as never,
  ]);
  return ex;
}

describe('coinbase exchange recorded payloads', () => {
  it('REST trade: side is the maker side; the taker side is its opposite, as ccxt parsed it', () => {
    const raw = rest.httpResponse[0]!;
    expect(raw.side).toBe('sell');
    expect(rest.parsedResponse[0]!.side).toBe('buy');
    const n = normalizeCoinbaseTrade(market, { id: 18502034n, info: raw, receivedAt: 1710327618000 });
    expect(n.ok && n.trade).toEqual({
      venue: 'coinbase',
      symbol: 'BTC/USDT',
      venueSymbol: 'BTC-USDT',
      tradeId: '18502034',
      price: '73271.63000000',
      amount: '0.00007448',
      quoteAmount: '5.4572710024',
      takerSide: 'buy',
      timestamp: '2024-03-13T11:00:17.710Z',
      receivedAt: '2024-03-13T11:00:18.000Z',
      sequence: null,
    });
    expect(takerSideOfMakerSide('sell')).toBe('buy');
  });

  it('ccxt parseTrade does NOT flip when a trade carries maker and taker order ids (a match) — parseWsTrade flips it back', () => {
    // A `match` in the documented shape (no recorded coinbaseexchange ws fixture exists).
    const match = {
      type: 'match',
      trade_id: 10,
      sequence: 50,
      maker_order_id: 'm',
      taker_order_id: 't',
      time: '2024-03-13T11:00:17.710679Z',
      product_id: 'BTC-USDT',
      size: '0.5',
      price: '100.10',
      side: 'sell',
    };
    const ex = exchange();
    expect(ex.parseTrade(match).side).toBe('sell'); // the maker side, unflipped
    expect(ex.parseWsTrade(match).side).toBe('buy'); // public ws path flips to the taker side
    expect(ex.parseWsTrade(match).price).toBe('100.10'); // number = String keeps the text
    const n = normalizeCoinbaseTrade(market, { id: 10n, info: match, receivedAt: 0 });
    expect(n.ok && n.trade.takerSide).toBe('buy');
    expect(n.ok && n.trade.sequence).toBe('50');
  });

  it('unreadable payloads are reported, not thrown', () => {
    expect(
      normalizeCoinbaseTrade(market, { id: 1n, info: { trade_id: 1, side: 'x' }, receivedAt: 0 }),
    ).toMatchObject({ ok: false, reason: 'coinbase-invalid-trade' });
  });
});
