// The recorded payloads through ccxt and through the connector's own reading, pinning each trap.
import { describe, expect, it } from 'vitest';
import ccxt, { type Trade } from 'ccxt';
import { useExactDecimals } from '@tributary/ccxt-trades';
import { normalizeBinanceTrade, takerSideOf } from '../src/index.ts';
import { fixture } from './fixtures.ts';

interface RestEntry {
  input: unknown[];
  httpResponse: Record<string, unknown>[];
  parsedResponse: Trade[];
}
interface WsEntry {
  description: string;
  input: string[];
  messages: Record<string, unknown>[];
  parsedResponse?: Trade[];
  parsedResponses?: Trade[][];
}

const rest = fixture<{ response: { methods: { fetchTrades: RestEntry[] } } }>('binance.trades.json').response
  .methods.fetchTrades[0]!;
const wsEntries = fixture<{ ws: { methods: { watchTrades: WsEntry[] } } }>('binance.ws-trades.json').ws
  .methods.watchTrades;
const spotWs = wsEntries.find((e) => e.description === 'spot public trade message')!;
const market = { symbol: 'BTC/USDT', venueSymbol: 'BTCUSDT' };

describe('binance recorded payloads', () => {
  it('stream trade: raw id t, exact decimals from the payload, m=true means the taker sold', () => {
    const frame = spotWs.messages[0]!;
    const n = normalizeBinanceTrade(market, {
      id: BigInt(String(frame.t)),
      info: frame,
      receivedAt: 1754500000200,
    });
    expect(n.ok).toBe(true);
    if (!n.ok) return;
    expect(n.trade).toEqual({
      venue: 'binance',
      symbol: 'BTC/USDT',
      venueSymbol: 'BTCUSDT',
      tradeId: '4567891234',
      price: '64000.10',
      amount: '0.00500000',
      quoteAmount: '320.0005',
      takerSide: 'sell',
      timestamp: '2025-08-06T17:06:40.120Z',
      receivedAt: '2025-08-06T17:06:40.200Z',
      sequence: null,
    });
    // ccxt agrees on the side (recorded parse) but its numbers are floats unless number = String.
    expect(spotWs.parsedResponse![0]!.side).toBe('sell');
    expect(spotWs.parsedResponse![0]!.price).toBe(64000.1);
  });

  it('every recorded stream frame maps m to the taker side as ccxt recorded it', () => {
    for (const e of wsEntries) {
      const parsed = e.parsedResponses?.flat() ?? e.parsedResponse ?? [];
      const trades = e.messages.filter((m) => m.e === 'trade');
      expect(trades.length).toBe(parsed.length);
      trades.forEach((m, i) => {
        expect(takerSideOf(m.m as boolean)).toBe(parsed[i]!.side);
        expect(String(m.t)).toBe(parsed[i]!.id);
      });
    }
  });

  it('ccxt default fetchTrades pages aggregate ids (a), not the raw ids the stream carries', () => {
    const raw = rest.httpResponse[0]!;
    expect(rest.parsedResponse[0]!.id).toBe(raw.a);
    expect(rest.parsedResponse[0]!.id).not.toBe(raw.f);
    // m=false: the buyer took liquidity.
    expect(raw.m).toBe(false);
    expect(rest.parsedResponse[0]!.side).toBe(takerSideOf(false));
  });

  it('ccxt with number = String keeps the venue decimal text', () => {
    const ex = new ccxt.pro.binance({ options: { fetchMarkets: { types: ['spot'] } } });
    useExactDecimals(ex);
    ex.setMarkets([
      {
        id: 'BTCUSDT',
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
    const t = ex.parseWsTrade(spotWs.messages[0]!, ex.market('BTC/USDT'));
    expect(t.price).toBe('64000.10');
    expect(t.amount).toBe('0.00500000');
    expect(t.side).toBe('sell');
  });

  it('unreadable payloads are reported, not thrown', () => {
    const n = normalizeBinanceTrade(market, {
      id: 5n,
      info: { e: 'trade', s: 'BTCUSDT', t: 5, p: '1e5', q: '1', T: 1, m: true },
      receivedAt: 0,
    });
    expect(n).toMatchObject({ ok: false, reason: 'binance-invalid-trade' });
  });
});
