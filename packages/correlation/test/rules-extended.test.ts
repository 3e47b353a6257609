import { describe, expect, it } from 'vitest';
import { alert as alertSchema } from '@tributary/schemas';
import { createEngine } from '../src/engine.ts';
import {
  accountDrain,
  catalogue,
  peelChain,
  priceDeviation,
  structuring,
  velocity,
} from '../src/rules/index.ts';
import { backtestEvents } from '../src/backtest.ts';
import type { Rule } from '../src/dsl.ts';
import type { CorrelationEvent } from '../src/events.ts';
import { address, crm, H, T0, trade, transfer, tx } from './fixtures.ts';

const D = 86_400_000;
const ETH = 10n ** 18n;

function run(rules: Rule[], events: CorrelationEvent[]) {
  const engine = createEngine({ rules, allowedLateness: '2h' });
  const out = events.flatMap((e) => engine.process(e)).map((o) => o.alert);
  for (const a of out) alertSchema.parse(a);
  return out;
}

describe('rule 3: CRM actor burst, then takeovers among those customers', () => {
  const actor = 'integration:zapier';
  const setup = (customers: number) => [
    ...Array.from({ length: 12 }, (_, i) =>
      crm({
        recordId: String(100 + i),
        changeType: 'create',
        at: T0,
        values: { payout_address: address(`c${i}`) },
      }),
    ),
    crm({ recordId: '100', at: T0 + H, values: { email: 'evil@x' }, actor }),
    crm({ recordId: '101', at: T0 + H, values: { phone: '+1999' }, actor }),
    ...Array.from({ length: customers - 2 }, (_, i) =>
      crm({ recordId: String(102 + i), at: T0 + H + 1000 * i, values: { notes: 'x' }, actor }),
    ),
  ];
  const takeovers = [
    transfer({ from: address('c0'), to: address('evil-0'), at: T0 + 5 * H }),
    transfer({ from: address('c1'), to: address('evil-1'), at: T0 + 6 * H }),
  ];

  it('fires the burst at 10 customers and the wave at the second takeover', () => {
    const out = run(catalogue(), [...setup(10), ...takeovers]);
    expect(out.map((a) => a.ruleId)).toEqual([
      'crm-actor-burst',
      'account-takeover',
      'account-takeover',
      'crm-breach-wave',
    ]);
    const wave = out.at(-1)!;
    expect(wave.entity).toBe(`actor:${actor}`);
    expect(wave.severity).toBe('critical');
    expect(wave.details.victims).toEqual(['customer:hubspot:contact:100', 'customer:hubspot:contact:101']);
  });

  it('near misses: 9 customers (no burst, no wave); a burst with one takeover (no wave)', () => {
    expect(run(catalogue(), [...setup(9), ...takeovers]).map((a) => a.ruleId)).toEqual([
      'account-takeover',
      'account-takeover',
    ]);
    expect(run(catalogue(), [...setup(10), takeovers[0]!]).map((a) => a.ruleId)).toEqual([
      'crm-actor-burst',
      'account-takeover',
    ]);
  });

  it('thresholds are configurable', () => {
    const out = run(catalogue({ crmBreach: { minCustomers: 5, minVictims: 1 } }), [
      ...setup(5),
      takeovers[0]!,
    ]);
    expect(out.map((a) => a.ruleId)).toEqual(['crm-actor-burst', 'account-takeover', 'crm-breach-wave']);
  });
});

describe('rule 6: Bitcoin peel chain', () => {
  const hop = (
    n: number,
    prev: [string, number],
    large: bigint,
    small: bigint,
    at: number,
  ): CorrelationEvent[] => {
    const hash = `peel${n}`;
    return [
      transfer({
        chain: 'bitcoin:mainnet',
        kind: 'utxo',
        tx: hash,
        index: 0,
        from: 'bc1qsrc',
        to: `bc1qpeel${n}`,
        amount: String(small),
        at,
      }),
      tx({
        hash,
        at,
        inputCount: 1,
        outputCount: 2,
        extra: { inputs: [{ prevTxid: prev[0], prevVout: prev[1] }] },
      }),
      transfer({
        chain: 'bitcoin:mainnet',
        kind: 'utxo',
        tx: hash,
        index: 1,
        from: 'bc1qsrc',
        to: `bc1qchange${n}`,
        amount: String(large),
        at,
      }),
    ];
  };

  it('fires at the third hop, once per chain', () => {
    const events = [
      ...hop(1, ['root', 0], 95_000_000n, 5_000_000n, T0),
      ...hop(2, ['peel1', 1], 90_000_000n, 5_000_000n, T0 + H),
      ...hop(3, ['peel2', 1], 86_000_000n, 4_000_000n, T0 + 2 * H),
      ...hop(4, ['peel3', 1], 82_000_000n, 4_000_000n, T0 + 3 * H),
    ];
    const out = run([peelChain()], events);
    expect(out).toHaveLength(1);
    expect(out[0]!.entity).toBe('peel:bitcoin:mainnet:peel1');
    expect(out[0]!.evidence.map((e) => e.id)).toEqual([
      'bitcoin:mainnet:peel1',
      'bitcoin:mainnet:peel2',
      'bitcoin:mainnet:peel3',
    ]);
  });

  it('near misses: an 80:20 split breaks the chain; a hop gap over 7 days; the small output spent', () => {
    expect(
      run(
        [peelChain()],
        [
          ...hop(1, ['root', 0], 95n, 5n, T0),
          ...hop(2, ['peel1', 1], 80n, 20n, T0 + H),
          ...hop(3, ['peel2', 1], 76n, 4n, T0 + 2 * H),
        ],
      ),
    ).toEqual([]);
    expect(
      run(
        [peelChain()],
        [
          ...hop(1, ['root', 0], 95n, 5n, T0),
          ...hop(2, ['peel1', 1], 90n, 5n, T0 + 8 * D),
          ...hop(3, ['peel2', 1], 86n, 4n, T0 + 8 * D + H),
        ],
      ),
    ).toEqual([]);
    expect(
      run(
        [peelChain()],
        [
          ...hop(1, ['root', 0], 95n, 5n, T0),
          ...hop(2, ['peel1', 0], 4n, 1n, T0 + H),
          ...hop(3, ['peel2', 1], 3n, 0n, T0 + 2 * H),
        ],
      ),
    ).toEqual([]);
  });
});

describe('rule 7: structuring and velocity', () => {
  const S = address('structurer');
  const out = (amounts: bigint[], gapMs: number) =>
    amounts.map((a, i) => transfer({ from: S, to: address(`d${i}`), amount: String(a), at: T0 + i * gapMs }));

  it('fires on 3 outflows just under 10 ETH within 24h', () => {
    const alerts = run([structuring()], out([9n * ETH, 9n * ETH + ETH / 2n, 8n * ETH + ETH / 2n], 3 * H));
    expect(alerts.map((a) => [a.ruleId, a.entity])).toEqual([['structuring', `address:${S}`]]);
    expect(alerts[0]!.details.total).toBe(String(27n * ETH));
  });

  it('near misses: one below the band, spread over more than 24h, at the threshold', () => {
    expect(run([structuring()], out([9n * ETH, 7n * ETH, 9n * ETH], H))).toEqual([]);
    expect(run([structuring()], out([9n * ETH, 9n * ETH, 9n * ETH], 13 * H))).toEqual([]);
    expect(run([structuring()], out([10n * ETH, 10n * ETH, 10n * ETH], H))).toEqual([]);
  });

  it('velocity: 20 outflows in an hour fire (test mode by default), 19 do not', () => {
    const twenty = run(
      [velocity()],
      out(
        Array.from({ length: 20 }, () => 1000n),
        60_000,
      ),
    );
    expect(twenty.map((a) => [a.ruleId, a.mode])).toEqual([['velocity', 'test']]);
    expect(
      run(
        [velocity()],
        out(
          Array.from({ length: 19 }, () => 1000n),
          60_000,
        ),
      ),
    ).toEqual([]);
  });
});

describe('rule 8: new or dormant account drained', () => {
  const N = address('new-acct');
  const FUNDER = address('funder');
  it('fires when a new account sends >= 90% of its balance within 24h of funding', () => {
    const alerts = run(
      [accountDrain()],
      [
        transfer({ from: FUNDER, to: N, amount: String(10n * ETH), at: T0 }),
        transfer({ from: N, to: address('out'), amount: String((95n * ETH) / 10n), at: T0 + 2 * H }),
      ],
    );
    expect(alerts.map((a) => [a.ruleId, a.details.reason])).toEqual([['account-drain', 'new']]);
    expect(alerts[0]!.evidence).toHaveLength(2);
  });

  it('fires when an account idle for more than 180 days is drained', () => {
    const Dm = address('dormant');
    const events = [
      transfer({ from: FUNDER, to: Dm, amount: String(10n * ETH), at: T0 }),
      transfer({ from: Dm, to: address('x'), amount: String(ETH / 10n), at: T0 + H }),
      transfer({ from: FUNDER, to: address('keepalive'), amount: '1', at: T0 + 200 * D }),
      transfer({ from: Dm, to: address('out'), amount: String((98n * ETH) / 10n), at: T0 + 200 * D + H }),
    ];
    expect(run([accountDrain()], events).map((a) => a.details.reason)).toEqual(['dormant']);
  });

  it('near misses: half the balance; new account drained 2 days after funding; idle 100 days', () => {
    expect(
      run(
        [accountDrain()],
        [
          transfer({ from: FUNDER, to: N, amount: String(10n * ETH), at: T0 }),
          transfer({ from: N, to: address('o'), amount: String(5n * ETH), at: T0 + H }),
        ],
      ),
    ).toEqual([]);
    expect(
      run(
        [accountDrain()],
        [
          transfer({ from: FUNDER, to: N, amount: String(10n * ETH), at: T0 }),
          transfer({ from: N, to: address('o'), amount: String(10n * ETH), at: T0 + 2 * D }),
        ],
      ),
    ).toEqual([]);
    const Dm = address('idle');
    expect(
      run(
        [accountDrain()],
        [
          transfer({ from: FUNDER, to: Dm, amount: String(10n * ETH), at: T0 }),
          transfer({ from: Dm, to: address('x'), amount: '1', at: T0 + 8 * D }),
          transfer({ from: Dm, to: address('o'), amount: String(9n * ETH), at: T0 + 108 * D }),
        ],
      ),
    ).toEqual([]);
  });
});

describe('rule 9: cross-venue price deviation', () => {
  const pair = (i: number, a: string, b: string) => [
    trade({ venue: 'binance', price: a, at: T0 + i * 1000, tradeId: `b${i}` }),
    trade({ venue: 'coinbase', price: b, at: T0 + i * 1000 + 500, tradeId: `c${i}` }),
  ];
  it('fires when the venues differ by > 100 bps for 3 trades in a row', () => {
    const alerts = run(
      [priceDeviation()],
      [...pair(0, '60000', '60900'), ...pair(1, '60010', '60950'), ...pair(2, '60000', '60800')],
    );
    expect(alerts.map((a) => a.entity)).toEqual(['market:BTC/USDT']);
    expect(alerts[0]!.details).toMatchObject({ venues: ['binance', 'coinbase'] });
  });
  it('near misses: 50 bps; interrupted by an agreeing trade; trades more than 2s apart', () => {
    expect(
      run(
        [priceDeviation()],
        [...pair(0, '60000', '60300'), ...pair(1, '60000', '60300'), ...pair(2, '60000', '60300')],
      ),
    ).toEqual([]);
    expect(
      run(
        [priceDeviation()],
        [...pair(0, '60000', '60900'), ...pair(1, '60000', '60010'), ...pair(2, '60000', '60900')],
      ),
    ).toEqual([]);
    const apart = [0, 1, 2].flatMap((i) => [
      trade({ venue: 'binance', price: '60000', at: T0 + i * 10_000 }),
      trade({ venue: 'coinbase', price: '61000', at: T0 + i * 10_000 + 5_000 }),
    ]);
    expect(run([priceDeviation()], apart)).toEqual([]);
  });
});

describe('backtest', () => {
  it('replays events in event time and reports the alerts inside the range only', () => {
    const S = address('s');
    const events = [
      ...[0, 1, 2].map((i) =>
        transfer({ from: S, to: address(`x${i}`), amount: String(9n * ETH), at: T0 + i * H }),
      ),
      ...[0, 1, 2].map((i) =>
        transfer({ from: S, to: address(`y${i}`), amount: String(9n * ETH), at: T0 + 2 * D + i * H }),
      ),
    ].reverse();
    const all = backtestEvents(events, { rules: [structuring()] });
    expect(all.alerts).toHaveLength(2);
    const later = backtestEvents(events, { rules: [structuring()], from: T0 + D });
    expect(later.alerts.map((a) => a.time)).toEqual([new Date(T0 + 2 * D + 2 * H).toISOString()]);
    const earlier = backtestEvents(events, { rules: [structuring()], to: T0 + D });
    expect(earlier.alerts).toHaveLength(1);
    expect(earlier.skipped).toBe(3);
  });
});
