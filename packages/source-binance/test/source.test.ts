// The source against the Binance simulator, in-process: conformance, normalization end to end, and
// each injected fault on its own.
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeSourceConformance,
  startBinanceSimulator,
  type VenueFaults,
  type VenueSimulator,
} from '@tributary/testkit';
import { source } from '../src/index.ts';
import { checkTradeSchema, collect, ids, range } from '@tributary/ccxt-trades/testing';

const markets = [
  { id: 'BTCUSDT', base: 'BTC', quote: 'USDT' },
  { id: 'ETHUSDT', base: 'ETH', quote: 'USDT' },
];
const symbols = ['BTC/USDT', 'ETH/USDT'];
const configFor = (sim: VenueSimulator, extra: Record<string, unknown> = {}) => ({
  symbols,
  restUrl: sim.restUrl,
  wsUrl: sim.wsUrl,
  startFrom: { afterId: '0' },
  restRateLimitMs: 0,
  idleCheckMs: 400,
  gapRetryMs: 50,
  ...extra,
});

describeSourceConformance(source, async () => {
  const sim = await startBinanceSimulator({ markets, ratePerSec: 200, prefill: 300 });
  sim.start();
  return {
    config: configFor(sim, { batchSize: 50 }),
    invalid: { config: { symbols: ['btcusdt'] }, path: 'symbols.0' },
    batches: 3,
    deterministicResume: false,
    teardown: () => sim.close(),
  };
});

describe('binance source against the simulator', () => {
  let sim: VenueSimulator | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it('backfills history by raw id with fromId (never aggTrades), then follows live, values exact', async () => {
    sim = await startBinanceSimulator({ markets, ratePerSec: 100, prefill: 2500 });
    sim.start();
    const got = await collect(source, configFor(sim), 2700);
    for (const s of symbols) expect(ids(got.trades.get(s)!).slice(0, 2700)).toEqual(range(1, 2700));
    expect(sim.stats.rest['/api/v3/aggTrades']).toBeUndefined();
    expect(sim.stats.tradeQueries.filter((q) => q.includes('fromId=')).length).toBeGreaterThanOrEqual(3);
    const t = got.trades.get('BTC/USDT')![41]!;
    const g = sim.generator.tradeAt('BTCUSDT', 42);
    expect(t).toMatchObject({
      venue: 'binance',
      symbol: 'BTC/USDT',
      venueSymbol: 'BTCUSDT',
      tradeId: '42',
      price: g.price,
      amount: g.amount,
      takerSide: g.buyerIsMaker ? 'sell' : 'buy',
      sequence: null,
    });
    // Backfilled and live records alike fit the topic's schema.
    for (const s of symbols) for (const trade of got.trades.get(s)!) checkTradeSchema(trade);
    // The newest trade came through the websocket: its values are the venue's own, exactly.
    const live = got.trades.get('BTC/USDT')!.at(-1)!;
    const produced = sim.generator.from('BTCUSDT', Number(live.tradeId), 1)[0]!;
    expect(live).toMatchObject({
      price: produced.price,
      amount: produced.amount,
      takerSide: produced.buyerIsMaker ? 'sell' : 'buy',
      timestamp: new Date(produced.time).toISOString(),
    });
    expect(got.offsets.get('BTC/USDT')!.lastTradeId).toBe(
      ids(got.trades.get('BTC/USDT')!).at(-1)!.toString(),
    );
  });

  it('resumes after its offset with nothing repeated', async () => {
    sim = await startBinanceSimulator({ markets, ratePerSec: 100, prefill: 500 });
    sim.start();
    const offsets = new Map([
      ['BTC/USDT', { lastTradeId: '200' }],
      ['ETH/USDT', { lastTradeId: '350' }],
    ]);
    const got = await collect(source, configFor(sim), 300, { offsets });
    expect(ids(got.trades.get('BTC/USDT')!).slice(0, 300)).toEqual(range(201, 300));
    expect(ids(got.trades.get('ETH/USDT')!).slice(0, 300)).toEqual(range(351, 300));
  });

  const faults: [string, Partial<VenueFaults>, keyof VenueSimulator['stats']][] = [
    ['dropped messages (gaps)', { dropRate: 0.1 }, 'dropped'],
    ['duplicates', { duplicateRate: 0.2 }, 'duplicated'],
    ['reordering', { reorderRate: 0.2 }, 'reordered'],
    ['malformed JSON', { malformedRate: 0.05 }, 'malformed'],
    ['429 with Retry-After', { dropRate: 0.05, rateLimitEvery: 2, retryAfterSec: 1 }, 'rateLimited'],
    ['418 with Retry-After', { dropRate: 0.05, banEvery: 3, retryAfterSec: 1 }, 'banned'],
    ['forced disconnects', { disconnectEveryMs: 700 }, 'disconnects'],
  ];
  for (const [name, f, stat] of faults) {
    it(`every trade exactly once, in order, under ${name}`, async () => {
      sim = await startBinanceSimulator({ markets, ratePerSec: 300, prefill: 100, faults: f });
      sim.start();
      const want = 900;
      const got = await collect(source, configFor(sim), want, { timeoutMs: 30_000 });
      for (const s of symbols) expect(ids(got.trades.get(s)!).slice(0, want), s).toEqual(range(1, want));
      expect(sim.stats[stat] as number).toBeGreaterThan(0);
      if (stat === 'malformed') {
        expect(got.deadLetters.length).toBeGreaterThan(0);
        expect(got.deadLetters.every((d) => d.reason === 'binance-malformed-json')).toBe(true);
      }
      if (stat === 'rateLimited' || stat === 'banned') {
        // Retry-After of 1 s was honoured: no request storm.
        expect(sim.stats.rateLimited + sim.stats.banned).toBeLessThan(15);
      }
    });
  }

  it("a slow consumer overrunning ccxt's cache still gets every trade (gap → backfill)", async () => {
    sim = await startBinanceSimulator({ markets, ratePerSec: 50, prefill: 10 });
    sim.start();
    let burst = false;
    const got = await collect(source, configFor(sim, { symbols: ['BTC/USDT'], tradesLimit: 20 }), 1500, {
      timeoutMs: 30_000,
      onBatch: async () => {
        if (burst) return;
        burst = true;
        // The consumer stalls while the venue bursts far more than the cache holds.
        sim!.generator.burst('BTCUSDT', 1200);
        await new Promise((r) => setTimeout(r, 500));
      },
    });
    expect(ids(got.trades.get('BTC/USDT')!).slice(0, 1500)).toEqual(range(1, 1500));
  });

  it('trades that arrive while the follower is busy are taken at once, not after the next trade', async () => {
    // ccxt resolves a watch on the next message only: a trade cached while nobody waited would sit there
    // until another trade or the idle check (here 60 s, far beyond the timeout).
    sim = await startBinanceSimulator({ markets, ratePerSec: 0, prefill: 1 });
    const got = await collect(source, configFor(sim, { symbols: ['BTC/USDT'], idleCheckMs: 60_000 }), 3, {
      timeoutMs: 5_000,
      onBatch: async (n) => {
        if (n !== 1) return;
        // Trade 1 came from the start backfill; now the stream subscribes. Trade 2 wakes the waiting
        // watch; trade 3 arrives while batch 2 waits for this consumer, so no watch is pending for it.
        while (sim!.stats.wsConnections === 0) await new Promise((r) => setTimeout(r, 20));
        await new Promise((r) => setTimeout(r, 300));
        sim!.generator.burst('BTCUSDT', 1);
        await new Promise((r) => setTimeout(r, 200));
        sim!.generator.burst('BTCUSDT', 1);
        await new Promise((r) => setTimeout(r, 200));
      },
    });
    expect(ids(got.trades.get('BTC/USDT')!)).toEqual([1, 2, 3]);
  });

  it('an unreadable trade frame is dead-lettered with a reason and the stream goes on', async () => {
    sim = await startBinanceSimulator({ markets, ratePerSec: 200, prefill: 0 });
    sim.start();
    const got = await collect(source, configFor(sim, { symbols: ['BTC/USDT'] }), 300, {
      onBatch: (n) => {
        if (n === 2) sim!.faults = { ...sim!.faults, malformedRate: 0.5 };
        if (n === 6) sim!.faults = { ...sim!.faults, malformedRate: 0 };
      },
    });
    expect(ids(got.trades.get('BTC/USDT')!).slice(0, 300)).toEqual(range(1, 300));
    expect(got.deadLetters.length).toBeGreaterThan(0);
  });
});
