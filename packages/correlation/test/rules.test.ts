import { describe, expect, it } from 'vitest';
import { alert as alertSchema } from '@tributary/schemas';
import { createEngine, type Emitted } from '../src/engine.ts';
import {
  catalogue,
  accountTakeover,
  payoutChange,
  addressPoisoning,
  addressPoisoningPaid,
  watchlistTransfer,
} from '../src/rules/index.ts';
import { buildWatchlist } from '../src/watchlist.ts';
import { changelogMessages } from '../src/changelog.ts';
import { createStore } from '../src/store.ts';
import { decodeAs, makeEvent, watchlistRecord, type CorrelationEvent } from '../src/events.ts';
import { address, crm, H, T0, transfer } from './fixtures.ts';

const A = address('victim-a');
const KNOWN = address('known-b');
const NEW = address('attacker-x');
const USDT = '0xdac17f958d2ee523a2206206994597c13d831ec7';

function run(
  rules: ReturnType<typeof catalogue>,
  events: CorrelationEvent[],
  watch = buildWatchlist([]),
): Emitted[] {
  const engine = createEngine({ rules, watchlist: watch });
  const out = events.flatMap((e) => engine.process(e));
  for (const o of out) alertSchema.parse(o.alert);
  return out;
}

const customerCreated = (at: number) =>
  crm({
    recordId: '101',
    changeType: 'create',
    at,
    values: { email: 'alice@example.com', payout_address: A },
  });

describe('rule 1: account takeover', () => {
  const base = (extra: CorrelationEvent[]) => [
    customerCreated(T0),
    transfer({ from: A, to: KNOWN, at: T0 + 1 * H }),
    crm({
      recordId: '101',
      at: T0 + 10 * H,
      values: { email: 'alice@evil.example' },
      previous: { email: 'alice@example.com' },
      actor: 'integration:zapier',
    }),
    ...extra,
  ];

  it('fires on an email change then an outflow to a never-seen address within 24h', () => {
    const out = run(
      [accountTakeover()],
      base([transfer({ from: A, to: NEW, at: T0 + 12 * H, amount: '5000' })]),
    );
    expect(out).toHaveLength(1);
    const a = out[0]!.alert;
    expect(a.ruleId).toBe('account-takeover');
    expect(a.entity).toBe('customer:hubspot:contact:101');
    expect(a.severity).toBe('critical'); // machine actor
    expect(a.evidence.map((e) => e.topic)).toEqual(['crm.changes', 'chain.transfers']);
    expect(a.labels).toContainEqual(expect.objectContaining({ entity: NEW, label: 'attacker' }));
    expect(a.details).toMatchObject({ destination: NEW, deltaSeconds: 2 * 3600 });
  });

  it('near miss: the outflow comes 25h after the change', () => {
    expect(run([accountTakeover()], base([transfer({ from: A, to: NEW, at: T0 + 35 * H })]))).toEqual([]);
  });

  it('near miss: the destination was paid before', () => {
    expect(run([accountTakeover()], base([transfer({ from: A, to: KNOWN, at: T0 + 12 * H })]))).toEqual([]);
  });

  it('near miss: a change of a field that is not a contact channel', () => {
    const events = [
      customerCreated(T0),
      crm({ recordId: '101', at: T0 + H, values: { lifecyclestage: 'customer' } }),
      transfer({ from: A, to: NEW, at: T0 + 2 * H }),
    ];
    expect(run([accountTakeover()], events)).toEqual([]);
  });

  it('a person as actor gives high, not critical; a second outflow does not raise a second alert', () => {
    const events = [
      customerCreated(T0),
      crm({ recordId: '101', at: T0 + H, values: { phone: '+1 555 0100' }, actor: 'user:jane' }),
      transfer({ from: A, to: NEW, at: T0 + 2 * H }),
      transfer({ from: A, to: address('attacker-y'), at: T0 + 3 * H }),
    ];
    const out = run([accountTakeover()], events);
    expect(out).toHaveLength(1);
    expect(out[0]!.alert.severity).toBe('high');
  });

  it('the window is configurable', () => {
    const events = base([transfer({ from: A, to: NEW, at: T0 + 20 * H })]);
    expect(run([accountTakeover({ within: '6h' })], events)).toEqual([]);
    expect(run([accountTakeover({ within: '24h' })], events)).toHaveLength(1);
  });
});

describe('rule 2: payout address change then a transfer to it', () => {
  const NEWPAY = address('new-payout');
  const HOT = address('exchange-hot');
  const change = (at: number) =>
    crm({
      recordId: '101',
      at,
      values: { payout_address: NEWPAY },
      previous: { payout_address: A },
      actor: 'user:support-7',
    });

  it('fires when the exchange pays the new address within 72h', () => {
    const out = run(
      [payoutChange()],
      [customerCreated(T0), change(T0 + H), transfer({ from: HOT, to: NEWPAY, at: T0 + 30 * H })],
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.alert).toMatchObject({
      ruleId: 'payout-address-change',
      entity: 'customer:hubspot:contact:101',
      severity: 'high',
    });
    expect(out[0]!.alert.details).toMatchObject({ oldAddress: A, newAddress: NEWPAY });
  });

  it('near miss: payment to the old address, or after the window', () => {
    expect(
      run(
        [payoutChange()],
        [customerCreated(T0), change(T0 + H), transfer({ from: HOT, to: A, at: T0 + 2 * H })],
      ),
    ).toEqual([]);
    expect(
      run(
        [payoutChange()],
        [customerCreated(T0), change(T0 + H), transfer({ from: HOT, to: NEWPAY, at: T0 + 74 * H })],
      ),
    ).toEqual([]);
  });

  it('works with a Salesforce custom field from the mapping', () => {
    const events = [
      crm({
        system: 'salesforce',
        objectType: 'Contact',
        recordId: '003X',
        changeType: 'create',
        at: T0,
        values: { Payout_Address__c: A },
      }),
      crm({
        system: 'salesforce',
        objectType: 'Contact',
        recordId: '003X',
        at: T0 + H,
        values: { Payout_Address__c: NEWPAY },
        previous: { Payout_Address__c: A },
      }),
      transfer({ from: HOT, to: NEWPAY, at: T0 + 2 * H }),
    ];
    const out = run([payoutChange()], events);
    expect(out.map((o) => o.alert.entity)).toEqual(['customer:salesforce:contact:003X']);
  });
});

describe('rule 4: address poisoning', () => {
  const V = '0x5a1e000000000000000000000000000000001111';
  const REAL = '0x9f3c77aa000000000000000000000000000a4b21';
  const LOOK = `0x9f3c${'0'.repeat(31)}a4b21`;
  const POISON_TX = '0x' + 'ab'.repeat(32);
  const history = [transfer({ from: V, to: REAL, at: T0, amount: '250000000', kind: 'erc20', token: USDT })];
  const poison = (n: number, token = USDT, look = LOOK) =>
    Array.from({ length: n }, (_, i) =>
      transfer({
        from: V,
        to: look,
        at: T0 + 2 * H,
        amount: '0',
        kind: 'erc20',
        token,
        tx: POISON_TX,
        index: i,
      }),
    );

  it('fires on 3 zero-value stablecoin transfers to a look-alike of a recent counterparty', () => {
    expect(LOOK).toHaveLength(42);
    const out = run([addressPoisoning()], [...history, ...poison(5)]);
    expect(out).toHaveLength(1);
    const a = out[0]!.alert;
    expect(a.evidence).toHaveLength(3);
    expect(a.details).toMatchObject({ victim: V, lookalike: LOOK, imitates: REAL, logCount: 3 });
    expect(a.severity).toBe('medium');
  });

  it('near misses: 2 logs; no recent counterparty; not a look-alike; not stablecoins', () => {
    expect(run([addressPoisoning()], [...history, ...poison(2)])).toEqual([]);
    expect(run([addressPoisoning()], poison(3))).toEqual([]);
    expect(
      run([addressPoisoning()], [...history, ...poison(3, USDT, `0x9f3d${'0'.repeat(31)}a4b21`)]),
    ).toEqual([]);
    expect(
      run([addressPoisoning()], [...history, ...poison(3, '0x1111111111111111111111111111111111111111')]),
    ).toEqual([]);
  });

  it('goes critical when the victim then pays the look-alike', () => {
    const rules = [addressPoisoning(), addressPoisoningPaid()];
    const pay = transfer({
      from: V,
      to: LOOK,
      at: T0 + 50 * H,
      amount: '900000000',
      kind: 'erc20',
      token: USDT,
    });
    const out = run(rules, [...history, ...poison(3), pay]);
    expect(out.map((o) => [o.alert.ruleId, o.alert.severity])).toEqual([
      ['address-poisoning', 'medium'],
      ['address-poisoning-paid', 'critical'],
    ]);
    expect(out[1]!.alert.details.poisoningAlertId).toBe(out[0]!.alert.alertId);
    expect(out[1]!.alert.evidence.at(-1)!.id).toBe(pay.id);
  });

  it('one alert per victim of a transaction that seeds several; each victim that pays its look-alike goes critical', () => {
    const K = '0x7e57aa00000000000000000000000000000c0de1';
    const L = `0x7e57${'0'.repeat(31)}c0de1`;
    const victims = [1, 2, 3, 4].map((i) => address(`many-victim-${i}`));
    const events = [
      ...victims.map((v, i) =>
        transfer({ from: v, to: K, at: T0 + i * 60_000, amount: '5', kind: 'erc20', token: USDT }),
      ),
      ...victims.map((v, i) =>
        transfer({
          from: L,
          to: v,
          at: T0 + 2 * H,
          amount: '0',
          kind: 'erc20',
          token: USDT,
          tx: POISON_TX,
          index: i,
        }),
      ),
      transfer({ from: victims[1]!, to: L, at: T0 + 3 * H, amount: '7000', kind: 'erc20', token: USDT }),
    ];
    const out = run([addressPoisoning(), addressPoisoningPaid()], events);
    expect(out.map((o) => [o.alert.ruleId, o.alert.entity, o.alert.evidence.length])).toEqual([
      // The third log makes the transaction count: its three victims, then the fourth with its log.
      ...[0, 1, 2]
        .map((i) => ['address-poisoning', `address:${victims[i]}`, 3])
        .sort((a, b) => (String(a[1]) < String(b[1]) ? -1 : 1)),
      ['address-poisoning', `address:${victims[3]}`, 4],
      // Its evidence: the poisoning alert's (its three logs), then the payment.
      ['address-poisoning-paid', `address:${victims[1]}`, 4],
    ]);
    expect(new Set(out.map((o) => o.alert.alertId)).size).toBe(out.length);
    for (const o of out.slice(0, 4))
      expect(o.alert.details).toMatchObject({ lookalike: L, imitates: K, transactionHash: POISON_TX });
  });

  it('near miss: the victim pays the genuine counterparty', () => {
    const out = run(
      [addressPoisoning(), addressPoisoningPaid()],
      [...history, ...poison(3), transfer({ from: V, to: REAL, at: T0 + 50 * H })],
    );
    expect(out.map((o) => o.alert.ruleId)).toEqual(['address-poisoning']);
  });
});

describe('rule 5: watchlisted address transfer', () => {
  const S = '0x1da5821544e25c636c1417ba96ade4cf6d2f9b5a';
  const sdn = `36000,"SOME ENTITY","-0-","CYBER2",-0-,-0-,-0-,-0-,-0-,-0-,-0-,"Digital Currency Address - ETH ${S}; alt. Digital Currency Address - XBT 1BoatSLRHtKNngkdXEeobR76b53LETtpyT;"\n`;
  const list = buildWatchlist([{ file: { path: '/lists/sdn.csv', format: 'ofac-sdn' }, text: sdn }]);

  it('fires on a transfer to a listed address, with the list version in the alert', () => {
    const out = run(
      [watchlistTransfer()],
      [transfer({ from: A, to: S.toUpperCase().replace('0X', '0x'), at: T0 })],
      list,
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.alert).toMatchObject({
      ruleId: 'watchlist-transfer',
      entity: `address:${S}`,
      severity: 'critical',
    });
    expect(out[0]!.alert.details).toMatchObject({
      listId: 'sdn.csv',
      listVersion: list.entries.get(S)!.listVersion,
      entryId: '36000',
      program: 'CYBER2',
      symbol: 'ETH',
      direction: 'out',
    });
    expect(out[0]!.alert.summary).toContain(list.entries.get(S)!.listVersion);
  });

  it('near miss: an address one character off', () => {
    expect(
      run([watchlistTransfer()], [transfer({ from: A, to: S.slice(0, -1) + 'b', at: T0 })], list),
    ).toEqual([]);
  });

  it('re-screens recent traffic when the list changes, once', () => {
    const engine = createEngine({ rules: [watchlistTransfer()] });
    expect(engine.process(transfer({ from: A, to: S, at: T0 }))).toEqual([]);
    engine.process(transfer({ from: A, to: KNOWN, at: T0 + H }));
    const out = engine.setWatchlist(list);
    expect(out.map((o) => o.alert.entity)).toEqual([`address:${S}`]);
    expect(engine.setWatchlist(list)).toEqual([]);
    const changed = buildWatchlist([
      { file: { path: '/lists/sdn.csv', format: 'ofac-sdn' }, text: sdn + '\n' },
    ]);
    expect(engine.setWatchlist(changed)).toEqual([]); // same finding, same alert id
  });

  it('takes entries from the watchlist topic', () => {
    const engine = createEngine({ rules: [watchlistTransfer()] });
    engine.process(transfer({ from: A, to: NEW, at: T0 }));
    const out = engine.process({
      kind: 'watchlist',
      id: 'w1',
      time: T0 + H,
      ref: { topic: 'correlation.watchlist', partition: 0, offset: '0' },
      record: {
        op: 'add',
        address: NEW,
        listId: 'internal',
        listVersion: '2026-03-01',
        entity: null,
        name: null,
        entryId: null,
        program: null,
        symbol: 'ETH',
      },
    });
    expect(out.map((o) => o.alert.details.listId)).toEqual(['internal']);
  });
});

describe('rule 5: watchlisted entity (through the identity graph)', () => {
  let n = 0;
  const listing = (
    at: number,
    record: Partial<Extract<CorrelationEvent, { kind: 'watchlist' }>['record']>,
  ): CorrelationEvent => {
    const parsed = watchlistRecord.parse({ listId: 'fraud', listVersion: 'v7', ...record });
    return makeEvent(
      'watchlist',
      parsed,
      {
        topic: 'correlation.watchlist',
        partition: 0,
        offset: String(n++),
      },
      at,
    );
  };

  it('fires on an outflow from an address of a customer whose email is listed, naming the customer', () => {
    const out = run(
      [watchlistTransfer()],
      [
        customerCreated(T0),
        listing(T0 + H, { entity: 'email:Alice@Example.com ', name: 'mule ring 4', entryId: 'F-12' }),
        transfer({ from: A, to: NEW, at: T0 + 2 * H, amount: '700' }),
      ],
    );
    expect(out).toHaveLength(1);
    const a = out[0]!.alert;
    expect(a).toMatchObject({ ruleId: 'watchlist-transfer', entity: 'customer:hubspot:contact:101' });
    expect(a.details).toMatchObject({
      listId: 'fraud',
      listVersion: 'v7',
      entryId: 'F-12',
      name: 'mule ring 4',
      matchedEntity: 'email:alice@example.com',
      matchedAddress: A,
      customer: 'customer:hubspot:contact:101',
      direction: 'in',
    });
    expect(a.labels[0]).toMatchObject({ entity: 'customer:hubspot:contact:101', label: 'attacker' });
    expect(a.summary).toContain('listed as email:alice@example.com (fraud v7, entry F-12, mule ring 4)');
  });

  it('matches a listed customer record, phone or exchange account, inflows as well as outflows', () => {
    for (const entity of [
      'customer:hubspot:CONTACT:101',
      'phone:+1 (555) 010-9999',
      'exchange-account:EX-9',
    ]) {
      const out = run(
        [watchlistTransfer()],
        [
          crm({
            recordId: '101',
            changeType: 'create',
            at: T0,
            values: { payout_address: A, phone: '+15550109999', exchange_account_id: 'EX-9' },
          }),
          listing(T0 + H, { entity }),
          transfer({ from: NEW, to: A, at: T0 + 2 * H }),
        ],
      );
      expect(
        out.map((o) => [o.alert.entity, o.alert.details.direction]),
        entity,
      ).toEqual([['customer:hubspot:contact:101', 'out']]);
    }
  });

  it('near misses: another customer listed; the listed email changed away before the transfer; removed', () => {
    const other = run(
      [watchlistTransfer()],
      [
        customerCreated(T0),
        crm({ recordId: '102', changeType: 'create', at: T0, values: { email: 'bob@example.com' } }),
        listing(T0 + H, { entity: 'email:bob@example.com' }),
        listing(T0 + H, { entity: 'customer:hubspot:contact:103' }),
        transfer({ from: A, to: NEW, at: T0 + 2 * H }),
      ],
    );
    expect(other).toEqual([]);
    const changed = run(
      [watchlistTransfer()],
      [
        customerCreated(T0),
        listing(T0 + H, { entity: 'email:mallory@example.com' }),
        crm({ recordId: '101', at: T0 + 2 * H, values: { email: 'mallory@example.com' } }),
        crm({
          recordId: '101',
          at: T0 + 3 * H,
          values: { email: 'alice@example.com' },
          previous: { email: 'mallory@example.com' },
        }),
        transfer({ from: A, to: NEW, at: T0 + 4 * H }),
        listing(T0 + 5 * H, { op: 'remove', entity: 'email:mallory@example.com' }),
        crm({ recordId: '101', at: T0 + 6 * H, values: { email: 'mallory@example.com' } }),
        transfer({ from: A, to: NEW, at: T0 + 7 * H }),
      ],
    );
    expect(changed).toEqual([]);
  });

  it('re-screens the linked addresses when an entity is listed, on the topic or in a file, once', () => {
    const events = [customerCreated(T0), transfer({ from: A, to: NEW, at: T0 + H, amount: '5' })];
    const engine = createEngine({ rules: [watchlistTransfer()] });
    expect(events.flatMap((e) => engine.process(e))).toEqual([]);
    const out = engine.process(listing(T0 + 2 * H, { entity: 'email:alice@example.com' }));
    expect(out.map((o) => o.alert.entity)).toEqual(['customer:hubspot:contact:101']);

    const fromFile = createEngine({ rules: [watchlistTransfer()] });
    events.forEach((e) => fromFile.process(e));
    const csv = '# internal fraud list\ncustomer:hubspot:contact:101,,FRAUD,F-1,Alice M.\n';
    const list = buildWatchlist([{ file: { path: '/lists/fraud.csv', format: 'csv' }, text: csv }]);
    const rescreened = fromFile.setWatchlist(list);
    expect(rescreened.map((o) => [o.alert.entity, o.alert.details.name])).toEqual([
      ['customer:hubspot:contact:101', 'Alice M.'],
    ]);
    // The same transfer of the same customer is one finding, whichever list named it: one alert id.
    expect(rescreened[0]!.alert.alertId).toBe(out[0]!.alert.alertId);
    expect(fromFile.setWatchlist(list)).toEqual([]);
  });

  it('keeps topic entity entries across a restore from the changelog', () => {
    const first = createEngine({ rules: [watchlistTransfer()] });
    [customerCreated(T0), listing(T0 + H, { entity: 'email:alice@example.com' })].forEach((e) =>
      first.process(e),
    );
    const store = createStore();
    for (const m of changelogMessages(first.store.takeChanges(), first.serialize))
      store.restore(String(m.key), m.value === null ? null : JSON.parse(String(m.value)));
    const second = createEngine({ rules: [watchlistTransfer()], store });
    second.restored();
    const out = second.process(transfer({ from: A, to: NEW, at: T0 + 2 * H }));
    expect(out.map((o) => o.alert.details.matchedEntity)).toEqual(['email:alice@example.com']);
  });

  it('rejects a topic record naming both or neither, or no known entity', () => {
    const bad = (v: object) =>
      decodeAs('watchlist', { topic: 'w', partition: 0, offset: '0' }, Buffer.from(JSON.stringify(v)), T0);
    expect(bad({ address: A, entity: 'email:x@y.io', listId: 'l', listVersion: '1' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('exactly one of address and entity'),
    });
    expect(bad({ listId: 'l', listVersion: '1' })).toMatchObject({ ok: false });
    expect(bad({ entity: 'twitter:@x', listId: 'l', listVersion: '1' })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('entity: not an entity'),
    });
    expect(bad({ entity: 'email:x@y.io', listId: 'l', listVersion: '1' })).toMatchObject({ ok: true });
  });
});

describe('the catalogue together', () => {
  it('benign traffic raises nothing', () => {
    const events: CorrelationEvent[] = [customerCreated(T0)];
    for (let i = 0; i < 200; i++)
      events.push(
        transfer({
          from: address(`u${i % 17}`),
          to: address(`m${i % 5}`),
          at: T0 + i * 60_000,
          amount: String(1000 + i),
        }),
      );
    expect(run(catalogue(), events)).toEqual([]);
  });

  it('alert ids are deterministic across engines and replays', () => {
    const events = [
      customerCreated(T0),
      crm({ recordId: '101', at: T0 + H, values: { email: 'x@y.z' } }),
      transfer({ from: A, to: NEW, at: T0 + 2 * H }),
    ];
    const a = run(catalogue(), events).map((o) => o.alert.alertId);
    const b = run(catalogue(), events).map((o) => o.alert.alertId);
    expect(a).toHaveLength(1);
    expect(b).toEqual(a);
    const engine = createEngine({ rules: catalogue() });
    const first = events.flatMap((e) => engine.process(e));
    const replay = events.flatMap((e) => engine.process(e));
    expect(first.map((o) => o.alert.alertId)).toEqual(a);
    expect(replay).toEqual([]);
  });
});
