// A scenario for the partitioned processor: inputs keyed by entity, as a re-keying stage would write them.
// Customer 101 (partition 0) has its contact email changed, then withdraws to a new address (account
// takeover); customer 102 (partition 1) has its payout address changed, then is paid there; a transfer to a
// sanctioned address (partition 1) after the watchlist topic lists it; benign transfers in both partitions.
// The CRM changes come a phase before the withdrawals: hours apart, as in real time.
import { createTopics } from '@tributary/testkit';
import type { InputTopics } from '../src/events.ts';
import { address, crmRecord, H, T0, transferRecord } from './fixtures.ts';
import { A1, A2, HOT, KNOWN1, NEW_X, NEWPAY, produceTo, SANCTIONED } from './scenario.ts';

export interface Keyed {
  topic: 'transfers' | 'crm' | 'watchlist';
  partition: number;
  value: unknown;
}

export const KEYED_EXPECTED = [
  ['account-takeover', 'customer:hubspot:contact:101'],
  ['payout-address-change', 'customer:hubspot:contact:102'],
  ['watchlist-transfer', `address:${SANCTIONED}`],
].sort();

export const KEYED_PARTITIONS = 2;

/** Makes transfers to a given partition, each with a transaction hash of its own; `mark` (hex digits at
 * the end of every hash) keeps the hashes of two makers apart. */
export function transferMaker(mark = '') {
  let txn = 0;
  return (partition: number, p: Parameters<typeof transferRecord>[0]): Keyed => ({
    topic: 'transfers',
    partition,
    value: transferRecord({ tx: `0x${(++txn).toString(16).padStart(64 - mark.length, '0')}${mark}`, ...p }),
  });
}

/** The phases of the scenario; `benign` transfers per partition and phase. */
export function keyedScenario(benign: number): Keyed[][] {
  const transfer = transferMaker();
  const change = (partition: number, p: Parameters<typeof crmRecord>[0]): Keyed => ({
    topic: 'crm',
    partition,
    value: crmRecord({ sourcePosition: `${p.recordId}-${p.at}`, ...p }),
  });
  /** Benign transfers in [from, to), the same busy senders and shops as scenario.ts's, per partition. */
  const traffic = (from: number, to: number, seed: number): Keyed[] =>
    Array.from({ length: KEYED_PARTITIONS * benign }, (_, k) => {
      const partition = k % KEYED_PARTITIONS;
      const i = Math.floor(k / KEYED_PARTITIONS);
      return transfer(partition, {
        from: address(`p${partition}-u${(i * 7 + seed) % 53}`),
        to: address(`p${partition}-m${(i * 3 + seed) % 11}`),
        at: from + Math.floor(((to - from) * i) / benign),
        amount: String(1000 + i),
      });
    });
  return [
    [
      change(0, {
        recordId: '101',
        changeType: 'create',
        at: T0,
        values: { email: 'a@example.com', payout_address: A1 },
      }),
      change(1, {
        recordId: '102',
        changeType: 'create',
        at: T0,
        values: { email: 'b@example.com', payout_address: A2 },
      }),
      transfer(0, { from: A1, to: KNOWN1, at: T0 + 10 * 60_000 }),
      transfer(1, { from: A2, to: address('shop'), at: T0 + 20 * 60_000 }),
      ...traffic(T0, T0 + H, 1),
    ],
    [
      ...traffic(T0 + 4 * H, T0 + 5 * H, 2),
      change(0, {
        recordId: '101',
        at: T0 + 5 * H,
        values: { email: 'a@evil.example' },
        previous: { email: 'a@example.com' },
      }),
      change(1, {
        recordId: '102',
        at: T0 + 5 * H,
        values: { payout_address: NEWPAY },
        previous: { payout_address: A2 },
      }),
    ],
    [
      transfer(0, { from: A1, to: NEW_X, at: T0 + 7 * H, amount: '3000000000000000000' }),
      transfer(1, { from: HOT, to: NEWPAY, at: T0 + 8 * H, amount: '5000000000000000000' }),
      ...traffic(T0 + 7 * H, T0 + 9 * H, 3),
    ],
    [
      { topic: 'watchlist', partition: 0, value: { address: SANCTIONED, listId: 'ofac', listVersion: 'v1' } },
      ...traffic(T0 + 10 * H, T0 + 11 * H, 4),
      transfer(1, { from: address('b-sender'), to: SANCTIONED, at: T0 + 11 * H }),
    ],
  ];
}

/** The inputs, co-partitioned (the watchlist topic has one partition: every instance reads it whole). */
export async function createKeyedTopics(brokers: string[], inputs: InputTopics): Promise<void> {
  await createTopics(brokers, [
    { topic: inputs.transfers, numPartitions: KEYED_PARTITIONS },
    { topic: inputs.crm, numPartitions: KEYED_PARTITIONS },
    { topic: inputs.transactions, numPartitions: KEYED_PARTITIONS },
    { topic: inputs.trades, numPartitions: KEYED_PARTITIONS },
    { topic: inputs.watchlist },
  ]);
}

/** Produces each record to its partition, `slice` records per request, in order. */
export async function produceKeyed(
  brokers: string[],
  inputs: InputTopics,
  records: Keyed[],
  slice = 1000,
): Promise<void> {
  await produceTo(
    brokers,
    records.map((r) => ({ topic: inputs[r.topic], partition: r.partition, value: r.value })),
    slice,
  );
}
