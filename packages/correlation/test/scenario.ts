// The end-to-end scenario: a CRM breach used to phish customers (contact channel and payout address
// changed by a compromised integration, then withdrawals), address poisoning, and a sanctioned transfer,
// inside benign traffic. Produced in phases; within a phase, events that depend on each other share a
// topic partition, so the outcome does not depend on how a consumer interleaves topics.
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, groupLagOf } from '@tributary/testkit';
import type { ChainTransfer, CrmChange } from '@tributary/schemas';
import { topicsOf } from '../src/config.ts';
import { makeEvent, type CorrelationEvent, type InputTopics } from '../src/events.ts';
import type { OutputTopics } from '../src/processor.ts';
import { address, crmRecord, H, T0, transferRecord } from './fixtures.ts';

export const USDT = '0xdac17f958d2ee523a2206206994597c13d831ec7';
export const A1 = address('cust-101');
export const A2 = address('cust-102');
export const A3 = address('cust-103');
export const KNOWN1 = address('known-1');
export const NEW_X = address('attacker-x');
export const NEWPAY = address('attacker-pay');
export const HOT = address('exchange-hot');
export const V = '0x5a1e000000000000000000000000000000001111';
export const V2 = '0x5a1e000000000000000000000000000000002222';
export const REAL = '0x9f3c77aa000000000000000000000000000a4b21';
export const LOOK = `0x9f3c${'0'.repeat(31)}a4b21`;
export const SANCTIONED = '0x1da5821544e25c636c1417ba96ade4cf6d2f9b5a';
export const POISON_TX = `0x${'ab'.repeat(32)}`;

export type Logical = 'transfers' | 'crm';
export interface Produced {
  topic: Logical;
  key: string;
  value: ChainTransfer | CrmChange;
}

export const EXPECTED = [
  ['account-takeover', 'customer:hubspot:contact:101'],
  ['payout-address-change', 'customer:hubspot:contact:102'],
  ['address-poisoning', `address:${V}`],
  ['address-poisoning-paid', `address:${V}`],
  ['watchlist-transfer', `address:${SANCTIONED}`],
  // Two customers the integration touched then had takeover alerts.
  ['crm-actor-burst', 'actor:integration:hubspot-private-app-7'],
  ['crm-breach-wave', 'actor:integration:hubspot-private-app-7'],
].sort();

let txn = 0;
const t = (p: Parameters<typeof transferRecord>[0]): Produced => ({
  topic: 'transfers',
  key: 'ethereum:1',
  value: transferRecord({ tx: p.tx ?? `0x${(++txn).toString(16).padStart(64, '0')}`, ...p }),
});
const c = (p: Parameters<typeof crmRecord>[0]): Produced => {
  const v = crmRecord({
    sourcePosition: `${p.recordId}-${p.at}-${Object.keys(p.values ?? {}).join('+')}`,
    ...p,
  });
  return { topic: 'crm', key: `${v.system}:${v.objectType}:${v.recordId}`, value: v };
};

function benign(n: number, from: number, to: number, seed: number): Produced[] {
  const out: Produced[] = [];
  for (let i = 0; i < n; i++) {
    const at = from + Math.floor(((to - from) * i) / n);
    out.push(
      t({
        from: address(`u${(i * 7 + seed) % 53}`),
        to: address(`m${(i * 3 + seed) % 11}`),
        at,
        amount: String(1000 + i),
      }),
    );
  }
  return out;
}

function merge(a: Produced[], b: Produced[]): Produced[] {
  return [...a, ...b].sort((x, y) => Date.parse(ts(x)) - Date.parse(ts(y)));
}
const ts = (p: Produced) => ('commitTimestamp' in p.value ? p.value.commitTimestamp : p.value.timestamp);

/** The scenario's records as events, in produce order, each with a position of its own (for the pure
 * engine to compute the alerts the processor must raise). */
export function scenarioEvents(phases: Produced[][]): CorrelationEvent[] {
  let offset = 0;
  return phases.flat().map((p) =>
    makeEvent(p.topic === 'crm' ? 'crm' : 'transfer', p.value as never, {
      topic: p.topic === 'crm' ? 'crm.changes' : 'chain.transfers',
      partition: 0,
      offset: String(offset++),
    }),
  );
}

/** Three phases; `benignPerPhase` transfers of noise in each. */
export function scenario(benignPerPhase: number): Produced[][] {
  txn = 0;
  const phase1 = [
    c({
      recordId: '101',
      changeType: 'create',
      at: T0,
      values: { email: 'alice@example.com', payout_address: A1 },
    }),
    c({
      recordId: '102',
      changeType: 'create',
      at: T0,
      values: { email: 'bob@example.com', payout_address: A2 },
    }),
    c({
      recordId: '103',
      changeType: 'create',
      at: T0,
      values: { email: 'carol@example.com', payout_address: A3 },
    }),
    ...Array.from({ length: 20 }, (_, i) =>
      c({
        recordId: String(200 + i),
        changeType: 'create',
        at: T0 + i * 1000,
        values: { email: `u${i}@example.com` },
      }),
    ),
    ...merge(
      [
        t({ from: A1, to: KNOWN1, at: T0 + 10 * 60_000 }),
        t({ from: V, to: REAL, at: T0 + 20 * 60_000, amount: '250000000', kind: 'erc20', token: USDT }),
        t({ from: V2, to: REAL, at: T0 + 21 * 60_000, amount: '1000000', kind: 'erc20', token: USDT }),
      ],
      benign(benignPerPhase, T0, T0 + H, 1),
    ),
  ];
  const actor = 'integration:hubspot-private-app-7';
  const phase2 = [
    // The breach: a compromised integration edits customers' contact channels and payout addresses.
    c({
      recordId: '101',
      at: T0 + 5 * H,
      values: { email: 'alice@evil.example' },
      previous: { email: 'alice@example.com' },
      actor,
    }),
    c({
      recordId: '102',
      at: T0 + 5 * H + 60_000,
      values: { payout_address: NEWPAY },
      previous: { payout_address: A2 },
      actor,
    }),
    // With 8 more customers, the integration touched 10 within minutes (crm-actor-burst).
    ...Array.from({ length: 8 }, (_, i) =>
      c({
        recordId: String(200 + i),
        at: T0 + 5 * H + 120_000 + i * 1000,
        values: { hs_lead_status: 'OPEN' },
        actor,
      }),
    ),
    // Near miss: a marketing user edits 5 customers many times.
    ...Array.from({ length: 30 }, (_, i) =>
      c({
        recordId: String(210 + (i % 5)),
        at: T0 + 5 * H + i * 1000,
        values: { lifecyclestage: `stage-${i}` },
        actor: 'user:marketing',
      }),
    ),
  ];
  const phase3 = merge(
    [
      t({ from: A1, to: NEW_X, at: T0 + 7 * H, amount: '3000000000000000000' }), // takeover withdrawal
      t({ from: A3, to: address('new-y'), at: T0 + 7 * H }), // near miss: no CRM change for 103
      t({ from: HOT, to: NEWPAY, at: T0 + 8 * H, amount: '5000000000000000000' }), // payout to the changed address
      t({ from: HOT, to: A3, at: T0 + 8 * H }), // near miss: payout to an unchanged address
      ...[0, 1, 2].map((i) =>
        t({
          from: V,
          to: LOOK,
          at: T0 + 9 * H,
          amount: '0',
          kind: 'erc20',
          token: USDT,
          tx: POISON_TX,
          index: i,
        }),
      ),
      ...[0, 1].map((i) =>
        t({
          from: V2,
          to: LOOK,
          at: T0 + 9 * H,
          amount: '0',
          kind: 'erc20',
          token: USDT,
          tx: `0x${'cd'.repeat(32)}`,
          index: i,
        }),
      ), // near miss: 2 logs
      t({ from: V, to: LOOK, at: T0 + 10 * H, amount: '900000000', kind: 'erc20', token: USDT }), // victim pays the look-alike
      t({ from: address('b-sender'), to: SANCTIONED, at: T0 + 11 * H }), // sanctioned
      t({ from: address('b-sender'), to: SANCTIONED.slice(0, -1) + 'b', at: T0 + 11 * H }), // near miss: one char off
    ],
    benign(benignPerPhase, T0 + 6 * H, T0 + 12 * H, 2),
  );
  return [phase1, phase2, phase3];
}

export const SDN_CSV = `36000,"SOME ENTITY","-0-","CYBER2",-0-,-0-,-0-,-0-,-0-,-0-,-0-,"Digital Currency Address - ETH ${SANCTIONED};"\n`;

export function writeSdn(): string {
  const dir = mkdtempSync(join(tmpdir(), 'correlation-wl-'));
  const file = join(dir, 'sdn.csv');
  writeFileSync(file, SDN_CSV);
  return file;
}

export function uniquePrefix(): string {
  return `t${randomUUID().slice(0, 8)}.`;
}

/** The processor's input and output topics under a test's prefix (the default names). */
export function topicsFor(prefix: string): { inputs: InputTopics; outputs: OutputTopics } {
  return topicsOf({ topicPrefix: prefix, inputs: {}, outputs: {} });
}

export async function createInputTopics(brokers: string[], prefix: string): Promise<void> {
  await createTopics(brokers, [
    { topic: `${prefix}chain.transfers`, numPartitions: 2 },
    { topic: `${prefix}crm.changes`, numPartitions: 2 },
    { topic: `${prefix}chain.transactions` },
    { topic: `${prefix}exchange.trades` },
    { topic: `${prefix}correlation.watchlist` },
  ]);
}

/** `slice`: records per produce request. Kafka hands a consumer at least one whole record batch per fetch,
 * so small slices are what make a consumer's fetches (and transactions) small. */
export async function produce(
  brokers: string[],
  prefix: string,
  records: Produced[],
  slice = 1000,
): Promise<void> {
  const { inputs } = topicsFor(prefix);
  await produceTo(
    brokers,
    records.map((r) => ({ topic: inputs[r.topic], key: r.key, value: r.value })),
    slice,
  );
}

/** Produces the records in order, `slice` per request, each to its topic (and partition, if it names one). */
export async function produceTo(
  brokers: string[],
  records: { topic: string; key?: string; partition?: number; value: unknown }[],
  slice = 1000,
): Promise<void> {
  const kafka = new Kafka({ brokers, clientId: 'scenario', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  try {
    for (let i = 0; i < records.length; i += slice) {
      const byTopic = new Map<string, { key?: string; partition?: number; value: string | Buffer }[]>();
      for (const { topic, value, ...at } of records.slice(i, i + slice)) {
        if (!byTopic.has(topic)) byTopic.set(topic, []);
        // A Buffer goes as it is (malformed input for the tests); anything else as JSON.
        byTopic.get(topic)!.push({ ...at, value: Buffer.isBuffer(value) ? value : JSON.stringify(value) });
      }
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
      });
    }
  } finally {
    await producer.disconnect();
  }
}

/** Resolves when the group's committed offsets reach the end of every partition of `topics`. */
export async function waitCaughtUp(
  brokers: string[],
  groupId: string,
  topics: string[],
  timeoutMs = 90_000,
  alive?: () => boolean,
): Promise<void> {
  const admin = new Kafka({ brokers, clientId: 'scenario-admin', logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      // -1: the coordinator is moving or not yet known; ask again.
      const behind = await groupLagOf(admin, groupId, topics).catch(() => -1);
      if (behind === 0) return;
      if (alive && !alive()) throw new Error('processor exited');
      if (Date.now() > deadline) throw new Error(`group ${groupId} still ${behind} records behind`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } finally {
    await admin.disconnect();
  }
}
