// Rule 9: cross-venue price deviation. Trades of the same symbol on two venues within +-2 s whose prices
// differ by more than 100 bps of their mid, sustained for 3 consecutive trades. No published parameter
// exists: all three are configuration. Prices are compared as doubles (ratios, not amounts).
import { custom, defineRule, type Rule } from '../dsl.ts';
import type { CorrelationEvent, TradeEvent } from '../events.ts';
import { ms, type Duration } from '../time.ts';

export interface PriceDeviationParams {
  maxBps: number;
  joinWindow: Duration;
  sustained: number;
  severity: number;
  mode: Rule['mode'];
}

export const PRICE_DEVIATION_DEFAULTS: PriceDeviationParams = {
  maxBps: 100,
  joinWindow: '2s',
  sustained: 3,
  severity: 50,
  mode: 'active',
};

interface Episode {
  trades: CorrelationEvent[];
  maxBps: number;
  /** Consecutive deviating trades. */
  n: number;
}

export function priceDeviation(overrides: Partial<PriceDeviationParams> = {}): Rule {
  const p = { ...PRICE_DEVIATION_DEFAULTS, ...overrides };
  const join = ms(p.joinWindow);
  return defineRule({
    id: 'price-deviation',
    version: 1,
    severity: p.severity,
    mode: p.mode,
    description: `trades of one symbol on two venues within ${p.joinWindow} differing by > ${p.maxBps} bps, ${p.sustained} times in a row`,
    pattern: custom({
      kinds: ['trade'],
      retention: '1d',
      evaluate(e, _ctx, state) {
        const t = e as TradeEvent;
        const symbol = t.record.symbol;
        const last = state.get<Record<string, TradeEvent>>(`px:${symbol}`) ?? {};
        last[t.record.venue] = t;
        state.set(`px:${symbol}`, last, t.time + 86_400_000);
        const price = Number(t.record.price);
        let worst: { bps: number; other: TradeEvent } | null = null;
        for (const [venue, o] of Object.entries(last)) {
          if (venue === t.record.venue || Math.abs(o.time - t.time) > join) continue;
          const other = Number(o.record.price);
          const bps = (Math.abs(price - other) / ((price + other) / 2)) * 10_000;
          if (!worst || bps > worst.bps) worst = { bps, other: o };
        }
        if (!worst) return [];
        const key = `ep:${symbol}`;
        if (worst.bps <= p.maxBps) {
          state.delete(key);
          return [];
        }
        const ep = state.get<Episode>(key) ?? { trades: [], maxBps: 0, n: 0 };
        for (const x of [worst.other, t]) if (!ep.trades.some((y) => y.id === x.id)) ep.trades.push(x);
        ep.trades = ep.trades.slice(0, 2 * p.sustained + 2);
        ep.maxBps = Math.max(ep.maxBps, worst.bps);
        ep.n += 1;
        state.set(key, ep, t.time + 86_400_000);
        const n = ep.n;
        if (n < p.sustained) return [];
        return [
          {
            key: `market:${symbol}`,
            events: ep.trades,
            anchors: ep.trades.slice(0, 2),
            facts: {
              symbol,
              maxBps: Math.round(ep.maxBps),
              venues: [...new Set(ep.trades.map((x) => (x as TradeEvent).record.venue))].sort(),
              sustained: n,
            },
          },
        ];
      },
    }),
    alert(f) {
      return {
        summary: `${String(f.facts?.symbol)} deviates up to ${String(f.facts?.maxBps)} bps across ${(f.facts?.venues as string[]).join(' / ')} for ${String(f.facts?.sustained)} trades`,
        labels: [
          { entity: String(f.facts?.symbol), entityType: 'market', label: 'subject', confidence: 0.5 },
        ],
      };
    },
  });
}
