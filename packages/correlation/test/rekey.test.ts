// Re-keying by entity: the routing as data, the re-keyed layout against one engine on the scenario and on
// the bench's mixed traffic, and the rekey stage plus two partitioned processors against real Kafka.
import { describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { readTopic, spawnCli, writeConfig } from '@tributary/testkit';
import { join } from 'node:path';
import { alert as alertSchema, type Alert } from '@tributary/schemas';
import { backtestEvents } from '../src/backtest.ts';
import { correlationConfig, processorOptionsOf, rekeyOptionsOf } from '../src/config.ts';
import { createIdentityGraph, DEFAULT_IDENTITY } from '../src/identity.ts';
import { makeEvent } from '../src/events.ts';
import { runProcessor, type ProcessorOptions } from '../src/processor.ts';
import { catalogue } from '../src/rules/index.ts';
import { chainedAlertsOf, ownerOf, partitionOf, routedSource, routesOf } from '../src/route.ts';
import { createStore } from '../src/store.ts';
import { loadWatchlist } from '../src/watchlist.ts';
import { traffic } from '../bench/traffic.ts';
import { address, crmRecord, T0, trade, transfer } from './fixtures.ts';
import {
  A1,
  createInputTopics,
  EXPECTED,
  produce,
  scenario,
  topicsFor,
  uniquePrefix,
  scenarioEvents,
  waitCaughtUp,
  writeSdn,
} from './scenario.ts';

const brokers = inject('kafkaBrokers');
const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'warn' });

const ids = (alerts: Alert[]) => alerts.map((a) => a.alertId).sort();

describe('re-keying by entity', () => {
  it('routes transfers to the owners of both sides, CRM changes everywhere, trades by market, chained alerts to their rule', () => {
    const identity = createIdentityGraph(DEFAULT_IDENTITY, createStore());
    const rules = catalogue();
    const o = { partitions: 8, chainedAlerts: chainedAlertsOf(rules) };
    const linkRecord = crmRecord({
      recordId: '101',
      changeType: 'create',
      at: T0,
      values: { payout_address: A1 },
    });
    identity.apply(linkRecord);
    const link = makeEvent('crm', linkRecord, { topic: 'crm.changes', partition: 0, offset: '0' });
    const customer = 'customer:hubspot:contact:101';
    // A linked address belongs to its customer; an unlinked one to itself.
    expect(ownerOf(`address:${A1.toUpperCase().replace('0X', '0x')}`, identity)).toBe(customer);
    const other = address('stranger');
    expect(ownerOf(`address:${other}`, identity)).toBe(`address:${other}`);
    expect(ownerOf('tx:ethereum:1:0xab', identity)).toBeNull();

    const out = transfer({ from: A1, to: other, at: T0 + 1 });
    expect(routesOf(out, identity, o)).toEqual(
      [...new Set([partitionOf(customer, 8), partitionOf(`address:${other}`, 8)])].sort((a, b) => a - b),
    );
    expect(routesOf(link, identity, o)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(
      routesOf(trade({ venue: 'binance', symbol: 'BTC/USDT', at: T0, price: '1' }), identity, o),
    ).toEqual([partitionOf('market:BTC/USDT', 8)]);
    const alertEvent = (ruleId: string) =>
      makeEvent('alert', { ruleId } as Alert, { topic: 'alerts', partition: 0, offset: '0' });
    const wave = partitionOf('rule:crm-breach-wave', 8);
    expect(routesOf(alertEvent('account-takeover'), identity, o)).toEqual([wave]);
    expect(routesOf(alertEvent('crm-actor-burst'), identity, o)).toEqual([wave]);
    expect(routesOf(alertEvent('watchlist-transfer'), identity, o)).toEqual([]);
    // The source position travels in headers.
    expect(
      routedSource({
        'tributary-rekey-kind': 'crm',
        'tributary-rekey-source': Buffer.from('3:17:x.crm.changes'),
      }),
    ).toEqual({ kind: 'crm', ref: { topic: 'x.crm.changes', partition: 3, offset: '17' } });
    expect(routedSource({ 'tributary-rekey-kind': 'crm' })).toMatch(/source/);
  });

  it('raises the same alerts as one engine on the attack scenario, for any number of partitions', async () => {
    const events = scenarioEvents(scenario(400));
    const watchlist = await loadWatchlist([{ path: writeSdn(), format: 'ofac-sdn' }]);
    const one = backtestEvents(events, { rules: catalogue(), watchlist });
    expect(one.alerts.map((a) => [a.ruleId, a.entity]).sort()).toEqual(EXPECTED);
    for (const partitions of [2, 3, 4, 8]) {
      const rekeyed = backtestEvents(events, { rules: catalogue(), watchlist, partitions });
      expect(ids(rekeyed.alerts), `${partitions} partitions`).toEqual(ids(one.alerts));
    }
  });

  it('address poisoning of victims in different tasks: the same alerts as one engine, each once', () => {
    // A poisoning contract seeds eight victims in one transaction, one zero-value log each: only the
    // whole transaction has 3 logs, and only each victim's task knows the victim paid K.
    const K = '0x9f3c77aa000000000000000000000000000a4b21';
    const L = `0x9f3c${'0'.repeat(31)}a4b21`;
    const USDT = '0xdac17f958d2ee523a2206206994597c13d831ec7';
    const victims = Array.from({ length: 8 }, (_, i) => address(`seeded-${i}`));
    const events = [
      ...victims.map((v, i) => transfer({ from: v, to: K, at: T0 + i * 1000, amount: '5' })),
      ...victims.map((v, i) =>
        transfer({
          from: L,
          to: v,
          at: T0 + 3_600_000,
          amount: '0',
          kind: 'erc20',
          token: USDT,
          tx: '0xfeed',
          index: i,
        }),
      ),
      ...victims.map((v, i) => transfer({ from: v, to: L, at: T0 + 7_200_000 + i, amount: '9' })),
    ];
    const one = backtestEvents(events, { rules: catalogue() }).alerts;
    expect(one.map((a) => a.ruleId).sort()).toEqual([
      ...Array<string>(8).fill('address-poisoning'),
      ...Array<string>(8).fill('address-poisoning-paid'),
    ]);
    // A zero-value token log goes to every task; a paying one to its two parties' tasks.
    const o = { partitions: 4, chainedAlerts: chainedAlertsOf(catalogue()) };
    const identity = createIdentityGraph(DEFAULT_IDENTITY, createStore());
    expect(routesOf(events[8]!, identity, o)).toEqual([0, 1, 2, 3]);
    expect(routesOf(events[0]!, identity, o).length).toBeLessThanOrEqual(2);
    for (const partitions of [2, 3, 4, 8]) {
      const rekeyed = backtestEvents(events, { rules: catalogue(), partitions }).alerts;
      expect(ids(rekeyed), `${partitions} partitions`).toEqual(ids(one));
      expect(rekeyed.map((a) => JSON.stringify(a)).sort()).toEqual(one.map((a) => JSON.stringify(a)).sort());
    }
  });

  it('raises the same alerts as one engine on 30,000 events of mixed traffic', () => {
    // The bench's traffic (transfers, CRM changes with links, trades, Bitcoin peel chains, attacks).
    const events = traffic(30_000, 1, 100_000);
    const one = backtestEvents(events, { rules: catalogue() });
    expect(one.alerts.length).toBeGreaterThan(100);
    const rekeyed = backtestEvents(events, { rules: catalogue(), partitions: 3 });
    expect(ids(rekeyed.alerts)).toEqual(ids(one.alerts));
  }, 60_000);

  it('the rekey stage and two partitioned processors raise exactly the scenario alerts, once, naming the source positions', async () => {
    const prefix = uniquePrefix();
    await createInputTopics(brokers, prefix);
    const sdn = writeSdn();
    const config = correlationConfig.parse({
      brokers,
      groupId: `${prefix}correlation`,
      topicPrefix: prefix,
      sessionTimeoutMs: 6_000,
      watchlistPollMs: 200,
      watchlists: [{ path: sdn, format: 'ofac-sdn' }],
      rekey: { partitions: 4 },
    });
    const { inputs, outputs } = topicsFor(prefix);
    const byEntity = `${prefix}correlation.by-entity`;
    const stages: { stop: () => Promise<void> }[] = [];
    const start = (of: (run: Pick<ProcessorOptions, 'logger' | 'signal'>) => ProcessorOptions) => {
      const ac = new AbortController();
      const running = runProcessor(of({ logger, signal: ac.signal }));
      stages.push({ stop: async () => (ac.abort(), await running) });
    };
    start((run) => rekeyOptionsOf(config, run));
    start((run) => processorOptionsOf(config, run));
    start((run) => processorOptionsOf(config, run));
    const phases = scenario(200);
    try {
      for (const phase of phases) {
        await produce(brokers, prefix, phase);
        await waitCaughtUp(brokers, `${prefix}correlation-rekey`, [inputs.transfers, inputs.crm]);
        await waitCaughtUp(brokers, `${prefix}correlation`, [byEntity]);
      }
      // The wave needs the takeover alerts to go round through the alerts topic and the rekey stage.
      const deadline = Date.now() + 60_000;
      let alerts: Alert[] = [];
      while (alerts.length < EXPECTED.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        alerts = (await readTopic(brokers, outputs.alerts)).map((m) =>
          alertSchema.parse(JSON.parse(m.value!)),
        );
      }
      await waitCaughtUp(brokers, `${prefix}correlation-rekey`, [outputs.alerts]);
      await waitCaughtUp(brokers, `${prefix}correlation`, [byEntity]);
    } finally {
      for (const s of stages) await s.stop();
    }

    const alerts = (await readTopic(brokers, outputs.alerts)).map((m) =>
      alertSchema.parse(JSON.parse(m.value!)),
    );
    expect(alerts.map((a) => [a.ruleId, a.entity]).sort()).toEqual(EXPECTED);
    expect(new Set(alerts.map((a) => a.alertId)).size).toBe(alerts.length);
    // The ids one engine computes, and evidence naming the source topics, not the by-entity topic.
    const watchlist = await loadWatchlist([{ path: sdn, format: 'ofac-sdn' }]);
    expect(ids(alerts)).toEqual(
      ids(backtestEvents(scenarioEvents(phases), { rules: catalogue(), watchlist }).alerts),
    );
    const takeover = alerts.find((a) => a.ruleId === 'account-takeover')!;
    expect(takeover.evidence.map((e) => e.topic)).toEqual([inputs.crm, inputs.transfers]);
    for (const a of alerts) for (const e of a.evidence) expect(e.topic).not.toBe(byEntity);

    // Each source record is in the by-entity topic once per partition it was routed to.
    const routed = await readTopic(brokers, byEntity);
    const copies = new Map<string, number>();
    for (const m of routed) {
      const s = routedSource(m.headers);
      if (typeof s === 'string') throw new Error(s);
      const k = `${s.ref.topic}:${s.ref.partition}:${s.ref.offset}@${m.partition}`;
      copies.set(k, (copies.get(k) ?? 0) + 1);
    }
    expect([...copies.values()].every((n) => n === 1)).toBe(true);
    const crmRecords = phases.flat().filter((p) => p.topic === 'crm').length;
    expect(routed.filter((m) => m.headers['tributary-rekey-kind'] === 'crm')).toHaveLength(crmRecords * 4);
    // The backtest of the re-keyed layout over the same topics prints the same findings.
    const configFile = writeConfig({
      brokers,
      topicPrefix: prefix,
      watchlists: [{ path: sdn, format: 'ofac-sdn' }],
    });
    const bt = spawnCli(['backtest', '--config', configFile, '--json', '--partitions', '4'], { cli });
    expect(await bt.exited).toBe(0);
    const printed = bt
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{"alertId"'))
      .map((l) => alertSchema.parse(JSON.parse(l)) as Alert);
    expect(ids(printed)).toEqual(ids(alerts));
    // Each task kept its state in its own changelog partition.
    const changelog = await readTopic(brokers, outputs.changelog);
    expect(new Set(changelog.map((m) => m.partition))).toEqual(new Set([0, 1, 2, 3]));
  }, 240_000);
});
