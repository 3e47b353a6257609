// Mixed synthetic traffic for the correlation benchmarks: transfers, zero-value token transfers
// (poisoning-like), Bitcoin transactions with outputs, trades on two venues, CRM creates and changes, over
// `entities` addresses (one in ten linked to a CRM contact), with a trickle of attack patterns.
// Deterministic for a seed.
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel, type Message } from 'kafkajs';
import { decodeMessage, makeEvent, type CorrelationEvent, type InputTopics } from '../src/index.ts';
import { fmt, log } from './report.ts';

/** Deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 20-byte hex address for entity `i`. */
export const addr = (i: number): string =>
  `0x${i.toString(16).padStart(8, '0')}${'0'.repeat(24)}${(i % 65536).toString(16).padStart(8, '0')}`;
export const USDT = '0xdac17f958d2ee523a2206206994597c13d831ec7';

/** `n` events: one CRM create per ten entities first, then mixed traffic in event-time order;
 * deterministic for `seed`. */
export function traffic(n: number, seed: number, entities: number): CorrelationEvent[] {
  const rnd = prng(seed);
  const pick = (k: number) => Math.floor(rnd() * k);
  const T0 = Date.parse('2026-03-01T00:00:00Z');
  const out: CorrelationEvent[] = [];
  let offset = 0;
  const ref = (topic: string) => ({ topic, partition: 0, offset: String(offset++) });
  const customers = Math.floor(entities / 10);
  // Link one address in ten to a CRM contact.
  for (let c = 0; c < customers; c++) {
    out.push(
      makeEvent(
        'crm',
        {
          system: 'hubspot',
          objectType: 'contact',
          recordId: String(c),
          changeType: 'create',
          changedFields: ['email', 'payout_address'],
          values: { email: `c${c}@x.io`, payout_address: addr(c * 10) },
          actor: 'sync',
          commitTimestamp: new Date(T0).toISOString(),
          sourcePosition: `c${c}`,
        },
        ref('crm.changes'),
      ),
    );
  }
  let t = T0;
  let tx = 0;
  while (out.length < n) {
    t += 50 + pick(100);
    const at = new Date(t).toISOString();
    const r = rnd();
    const base = {
      op: 'upsert' as const,
      chain: 'ethereum:1',
      blockNumber: 1,
      blockHash: '0xb',
      tokenId: null,
      timestamp: at,
    };
    if (r < 0.8) {
      const from = addr(pick(entities));
      const to = addr(pick(entities));
      const erc = rnd() < 0.4;
      out.push(
        makeEvent(
          'transfer',
          {
            ...base,
            transactionHash: `0x${(tx++).toString(16)}`,
            index: 0,
            kind: erc ? 'erc20' : 'native',
            token: erc ? USDT : null,
            from,
            to,
            amount: String(1 + pick(20_000_000_000)) + '00000000',
          },
          ref('chain.transfers'),
        ),
      );
    } else if (r < 0.84) {
      // zero-value token logs (poisoning-like: some to look-alikes of recent counterparties)
      const victim = pick(entities);
      const h = `0x${(tx++).toString(16)}`;
      for (let i = 0; i < 3; i++)
        out.push(
          makeEvent(
            'transfer',
            {
              ...base,
              transactionHash: h,
              index: i,
              kind: 'erc20',
              token: USDT,
              from: addr(victim),
              to: addr(pick(entities)),
              amount: '0',
            },
            ref('chain.transfers'),
          ),
        );
    } else if (r < 0.9) {
      const h = `btc${tx++}`;
      const total = 1_000_000 + pick(100_000_000);
      const small = Math.floor(total * (0.01 + rnd() * 0.2));
      const prev = rnd() < 0.5 ? `btc${Math.max(0, tx - 1 - pick(50))}` : 'coinbase';
      out.push(
        makeEvent(
          'transaction',
          {
            op: 'upsert',
            chain: 'bitcoin:mainnet',
            blockNumber: 1,
            blockHash: 'b',
            index: 1,
            hash: h,
            from: null,
            to: null,
            value: null,
            fee: '100',
            status: 'success',
            timestamp: at,
            nonce: null,
            gasUsed: null,
            effectiveGasPrice: null,
            contractAddress: null,
            wtxid: null,
            size: 200,
            vsize: 150,
            weight: 600,
            coinbase: false,
            inputCount: 1,
            outputCount: 2,
            extra: { inputs: [{ prevTxid: prev, prevVout: 1 }] },
          },
          ref('chain.transactions'),
        ),
      );
      out.push(
        makeEvent(
          'transfer',
          {
            ...base,
            chain: 'bitcoin:mainnet',
            transactionHash: h,
            index: 0,
            kind: 'utxo',
            token: null,
            from: 'bc1qa',
            to: `bc1q${pick(entities)}`,
            amount: String(small),
          },
          ref('chain.transfers'),
        ),
      );
      out.push(
        makeEvent(
          'transfer',
          {
            ...base,
            chain: 'bitcoin:mainnet',
            transactionHash: h,
            index: 1,
            kind: 'utxo',
            token: null,
            from: 'bc1qa',
            to: `bc1q${pick(entities)}`,
            amount: String(total - small),
          },
          ref('chain.transfers'),
        ),
      );
    } else if (r < 0.97) {
      const price = 60_000 * (1 + (rnd() - 0.5) * (rnd() < 0.02 ? 0.05 : 0.002));
      out.push(
        makeEvent(
          'trade',
          {
            venue: rnd() < 0.5 ? 'binance' : 'coinbase',
            symbol: ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'][pick(3)]!,
            venueSymbol: 'X',
            tradeId: String(tx++),
            price: price.toFixed(2),
            amount: '0.1',
            quoteAmount: '1',
            takerSide: 'buy',
            timestamp: at,
            receivedAt: at,
            sequence: null,
          },
          ref('exchange.trades'),
        ),
      );
    } else {
      const c = pick(customers);
      const field = ['email', 'phone', 'lifecyclestage', 'payout_address'][pick(4)]!;
      out.push(
        makeEvent(
          'crm',
          {
            system: 'hubspot',
            objectType: 'contact',
            recordId: String(c),
            changeType: 'update',
            changedFields: [field],
            values: { [field]: field === 'payout_address' ? addr(pick(entities)) : `v${tx++}` },
            actor: rnd() < 0.5 ? `user:${pick(20)}` : 'integration:app',
            commitTimestamp: at,
            sourcePosition: `u${tx}`,
          },
          ref('crm.changes'),
        ),
      );
    }
  }
  return out.slice(0, n);
}

/** The input topics the traffic goes to. */
export type Logical = 'transfers' | 'transactions' | 'trades' | 'crm';

/** The input topic and the record key an event is produced with. */
export function route(e: CorrelationEvent): { topic: Logical; key: string } {
  switch (e.kind) {
    case 'transfer':
      return { topic: 'transfers', key: e.record.chain };
    case 'transaction':
      return { topic: 'transactions', key: e.record.chain };
    case 'trade':
      return { topic: 'trades', key: e.record.venue };
    case 'crm':
      return { topic: 'crm', key: `${e.record.system}:${e.record.objectType}:${e.record.recordId}` };
    default:
      throw new Error(`the traffic has no input topic for ${e.kind}`);
  }
}

/** Produce requests stay under this per topic (the broker's record batch limit is 1 MiB), and small enough
 * that one fetch of the processor holds several of them, as it would behind a live source. */
const PRODUCE_TOPIC_BYTES = 256 * 1024;

export interface Produced {
  records: number;
  bytes: number;
  byTopic: Record<Logical, number>;
}

/** Produces the events to their input topics in generation order (checked against the processor's decoder
 * first), by a plain producer; not timed by the benches. `partitionOf`: the partition of each record (for
 * entity-keyed inputs); default, the partitioner's choice by key. */
export async function produceTraffic(
  brokers: string[],
  inputs: InputTopics,
  events: CorrelationEvent[],
  partitionOf?: (e: CorrelationEvent) => number,
): Promise<Produced> {
  const t0 = performance.now();
  const messages = events.map((e) => {
    const { topic, key } = route(e);
    const m: Message = { key, value: Buffer.from(JSON.stringify(e.record)) };
    if (partitionOf) m.partition = partitionOf(e);
    return { topic, m };
  });
  let invalid = 0;
  let example = '';
  for (const { topic, m } of messages) {
    const d = decodeMessage(inputs, inputs[topic], 0, '0', m.value as Buffer, 0);
    if (!d.ok && invalid++ === 0) example = `${topic}: ${d.reason}`;
  }
  if (invalid) throw new Error(`${invalid} generated records do not decode (first: ${example})`);
  log(`generated ${fmt(messages.length)} records; producing`);

  const kafka = new Kafka({ brokers, clientId: 'bench-producer', logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
  await producer.connect();
  const byTopic: Record<Logical, number> = { transfers: 0, transactions: 0, trades: 0, crm: 0 };
  let bytes = 0;
  let sent = 0;
  let lastLog = performance.now();
  try {
    let request = new Map<Logical, Message[]>();
    let topicBytes = new Map<Logical, number>();
    const flush = async () => {
      if (request.size === 0) return;
      // One request at a time: the records of a topic land in generation order.
      await producer.sendBatch({
        acks: -1,
        topicMessages: [...request].map(([t, ms]) => ({ topic: inputs[t], messages: ms })),
      });
      for (const ms of request.values()) sent += ms.length;
      request = new Map();
      topicBytes = new Map();
      if (performance.now() - lastLog > 2_000) {
        lastLog = performance.now();
        log(`  produced ${fmt(sent)} / ${fmt(messages.length)}`);
      }
    };
    for (const { topic, m } of messages) {
      const size = (m.key as string).length + (m.value as Buffer).length;
      if ((topicBytes.get(topic) ?? 0) + size > PRODUCE_TOPIC_BYTES) await flush();
      let list = request.get(topic);
      if (!list) request.set(topic, (list = []));
      list.push(m);
      topicBytes.set(topic, (topicBytes.get(topic) ?? 0) + size);
      byTopic[topic]++;
      bytes += (m.value as Buffer).length;
    }
    await flush();
  } finally {
    await producer.disconnect();
  }
  log(
    `produced ${fmt(sent)} records (${fmt(bytes / 2 ** 20, 1)} MB: ${Object.entries(byTopic)
      .map(([t, n]) => `${t} ${fmt(n)}`)
      .join(', ')}) in ${fmt((performance.now() - t0) / 1000, 1)} s`,
  );
  return { records: sent, bytes, byTopic };
}
