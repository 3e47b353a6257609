import { describe, expect, it } from 'vitest';
import {
  absence,
  as,
  count,
  defineRule,
  distinct,
  on,
  sequence,
  sum,
  window,
  type Rule,
} from '../src/dsl.ts';
import { createEngine } from '../src/engine.ts';
import { createStore, type StoredEntry, type StoredGroupJson } from '../src/store.ts';
import { changelogMessages } from '../src/changelog.ts';
import { accountTakeover, catalogue } from '../src/rules/index.ts';
import type { CorrelationEvent } from '../src/events.ts';
import { address, crm, H, T0, transfer } from './fixtures.ts';

const A = address('a');
const B = address('b');

const confirmRule = (): Rule =>
  defineRule({
    id: 'change-unconfirmed',
    version: 1,
    severity: 50,
    mode: 'active',
    description: 'a CRM change not confirmed by the customer within 1h',
    pattern: absence({
      within: '1h',
      first: on('crm', {
        name: 'change',
        where: (e) => e.record.changedFields.includes('email'),
        key: (e) => e.record.recordId,
      }),
      missing: on('crm', {
        name: 'confirmation',
        where: (e) => e.record.changedFields.includes('email_confirmed'),
        key: (e) => e.record.recordId,
      }),
    }),
    alert: (f) => ({ summary: `change ${f.events[0]!.id} not confirmed` }),
  });

describe('absence: A and no B within T', () => {
  it('fires once the watermark passes A + T with no B', () => {
    const engine = createEngine({ rules: [confirmRule()], allowedLateness: '10m' });
    expect(engine.process(crm({ recordId: '1', at: T0, values: { email: 'a@b' } }))).toEqual([]);
    expect(engine.process(transfer({ from: A, to: B, at: T0 + H }))).toEqual([]); // watermark T0+50m
    const out = engine.process(transfer({ from: A, to: B, at: T0 + H + 11 * 60_000 }));
    expect(out.map((o) => o.alert.entity)).toEqual(['1']);
    expect(out[0]!.alert.time).toBe(new Date(T0 + H).toISOString());
  });

  it('near miss: the confirmation arrives in time (even out of order, within lateness)', () => {
    const engine = createEngine({ rules: [confirmRule()], allowedLateness: '10m' });
    engine.process(crm({ recordId: '1', at: T0, values: { email: 'a@b' } }));
    engine.process(transfer({ from: A, to: B, at: T0 + 55 * 60_000 }));
    engine.process(crm({ recordId: '1', at: T0 + 50 * 60_000, values: { email_confirmed: 'true' } }));
    expect(engine.process(transfer({ from: A, to: B, at: T0 + 3 * H }))).toEqual([]);
  });
});

describe('sequence', () => {
  const seq = defineRule({
    id: 'a-then-b',
    version: 1,
    severity: 40,
    mode: 'test',
    description: 'A then B within 1h by sender',
    pattern: sequence({
      within: '1h',
      steps: [
        on('transfer', { name: 'A', where: (e) => e.record.amount === '1', key: (e) => e.record.from }),
        on('transfer', {
          name: 'B',
          where: (e) => e.record.amount === '2',
          key: (e) => e.record.from,
          join: (e, [a]) => as(a, 'transfer').record.to === e.record.to,
        }),
      ],
    }),
    alert: () => ({ summary: 'A then B' }),
  });

  it('matches out-of-order arrival within the allowed lateness, routes test-mode alerts to the test topic', () => {
    const engine = createEngine({ rules: [seq], allowedLateness: '30m' });
    expect(engine.process(transfer({ from: A, to: B, amount: '2', at: T0 + 20 * 60_000 }))).toEqual([]);
    const out = engine.process(transfer({ from: A, to: B, amount: '1', at: T0 }));
    expect(out.map((o) => [o.topic, o.alert.mode, o.alert.severity])).toEqual([['test', 'test', 'medium']]);
  });

  it('near misses: B before A, B outside the window, join fails', () => {
    const engine = createEngine({ rules: [seq], allowedLateness: '2h' });
    const events = [
      transfer({ from: A, to: B, amount: '2', at: T0 }),
      transfer({ from: A, to: B, amount: '1', at: T0 + 60_000 }),
      transfer({ from: A, to: B, amount: '2', at: T0 + 62 * 60_000 }),
      transfer({ from: A, to: address('c'), amount: '2', at: T0 + 2 * 60_000 }),
    ];
    expect(events.flatMap((e) => engine.process(e))).toEqual([]);
  });

  it('drops events later than the allowed lateness', () => {
    const engine = createEngine({ rules: [seq], allowedLateness: '5m' });
    engine.process(transfer({ from: A, to: B, amount: '2', at: T0 + 30 * 60_000 }));
    expect(engine.process(transfer({ from: A, to: B, amount: '1', at: T0 }))).toEqual([]);
    expect(engine.stats().late).toBe(1);
  });
});

describe('windows', () => {
  const burst = (measure: 'count' | 'sum' | 'distinct') =>
    defineRule({
      id: `burst-${measure}`,
      version: 1,
      severity: 60,
      mode: 'active',
      description: 'sliding window',
      pattern: window({
        within: '1h',
        step: on('transfer', { name: 'outflow', key: (e) => e.record.from }),
        measure:
          measure === 'count'
            ? count()
            : measure === 'sum'
              ? sum((e) => BigInt(as(e, 'transfer').record.amount))
              : distinct((e) => as(e, 'transfer').record.to ?? ''),
        atLeast: measure === 'sum' ? 100n : 3,
      }),
      alert: (f) => ({ summary: `${f.events.length} outflows` }),
    });

  it('count, sum and distinct fire at the threshold and stay quiet for the cooldown', () => {
    const events = [10, 20, 30, 40].map((m, i) =>
      transfer({ from: A, to: address(`d${i}`), amount: '40', at: T0 + m * 60_000 }),
    );
    for (const rule of [burst('count'), burst('sum'), burst('distinct')]) {
      const engine = createEngine({ rules: [rule] });
      const out = events.flatMap((e) => engine.process(e));
      expect(out).toHaveLength(1);
      expect(out[0]!.alert.evidence).toHaveLength(3);
    }
  });

  it('near miss: events spread beyond the window', () => {
    const engine = createEngine({ rules: [burst('count')] });
    const events = [0, 40, 80, 120].map((m) => transfer({ from: A, to: B, at: T0 + m * 60_000 }));
    expect(events.flatMap((e) => engine.process(e))).toEqual([]);
  });
});

describe('state restore (what the changelog does)', () => {
  it('reads counterparty facts in the form earlier versions wrote (an object keyed by address)', () => {
    const A = address('old-a');
    const KNOWN = address('old-known');
    const events = [
      crm({ recordId: '9', changeType: 'create', at: T0, values: { payout_address: A } }),
      crm({ recordId: '9', at: T0 + 2 * H, values: { email: 'new@x' }, previous: { email: 'old@x' } }),
      transfer({ from: A, to: KNOWN, at: T0 + 3 * H }),
    ];
    const takeovers = (store?: ReturnType<typeof createStore>) => {
      const engine = createEngine({ rules: [accountTakeover()], ...(store ? { store } : {}) });
      engine.restored();
      return events.flatMap((e) => engine.process(e));
    };
    // Without the facts, paying KNOWN right after the email change looks like a takeover ...
    expect(takeovers()).toHaveLength(1);
    // ... with the old-form facts that A paid KNOWN an hour in, it is a known counterparty.
    const store = createStore();
    store.restore(`cp:${A}`, { v: { n: 1, m: { [KNOWN]: T0 + H } }, exp: T0 + 90 * 24 * H });
    expect(takeovers(store)).toEqual([]);
  });

  it('an engine restored from the changes of another continues exactly where it left off', () => {
    const C = address('customer');
    const X = address('attacker');
    const events: CorrelationEvent[] = [
      crm({ recordId: '7', changeType: 'create', at: T0, values: { payout_address: C } }),
      transfer({ from: C, to: B, at: T0 + H }),
      crm({ recordId: '7', at: T0 + 2 * H, values: { email: 'new@x' } }),
      transfer({ from: C, to: X, at: T0 + 3 * H }),
      transfer({ from: C, to: address('y'), at: T0 + 4 * H }),
    ];
    const whole = createEngine({ rules: catalogue() });
    const expected = events.flatMap((e) => whole.process(e)).map((o) => o.alert);
    expect(expected).toHaveLength(1);

    let references = 0;
    for (let cut = 0; cut <= events.length; cut++) {
      const first = createEngine({ rules: catalogue() });
      const before = events
        .slice(0, cut)
        .flatMap((e) => first.process(e))
        .map((o) => o.alert);
      // Written and read back as the processor does: events held by rs: go as references.
      const changelog = changelogMessages(first.store.takeChanges(), first.serialize);
      for (const m of changelog) if (String(m.value).includes('{"$ev":')) references++;
      const store = createStore();
      for (const m of changelog)
        store.restore(
          String(m.key),
          m.value === null ? null : (JSON.parse(String(m.value)) as StoredEntry | StoredGroupJson),
        );
      const second = createEngine({ rules: catalogue(), store });
      second.restored();
      const after = events
        .slice(cut)
        .flatMap((e) => second.process(e))
        .map((o) => o.alert);
      expect([...before, ...after]).toEqual(expected);
    }
    // The transfers in rule state went to the changelog as references to their rs: entries.
    expect(references).toBeGreaterThan(0);
  });
});
