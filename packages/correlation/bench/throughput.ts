// Engine throughput with every catalogue rule on: 100,000 entities, mixed traffic (transfers, zero-value
// token transfers, Bitcoin transactions with outputs, trades on two venues, CRM changes) with a trickle of
// attack patterns. Reports medians of several runs; the reference for throughput is the same engine with
// no rules (state bookkeeping and decoding only), for RSS the process before the run.
// Usage: npm run bench [-- --events 200000 --repeats 3]
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { benchResultsPath, median, writeBenchResults } from '@tributary/testkit';
import { catalogue, createEngine, makeEvent, type CorrelationEvent, type Rule } from '../src/index.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    repeats: { type: 'string', default: '3' },
    entities: { type: 'string', default: '100000' },
    out: { type: 'string' },
  },
});
const N = Number(values.events);
const REPEATS = Number(values.repeats);
const ENTITIES = Number(values.entities);
const OUT = values.out ?? benchResultsPath('correlation');

function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const addr = (i: number) =>
  `0x${i.toString(16).padStart(8, '0')}${'0'.repeat(24)}${(i % 65536).toString(16).padStart(8, '0')}`;
const USDT = '0xdac17f958d2ee523a2206206994597c13d831ec7';

function traffic(n: number, seed: number): CorrelationEvent[] {
  const rnd = prng(seed);
  const pick = (k: number) => Math.floor(rnd() * k);
  const T0 = Date.parse('2026-03-01T00:00:00Z');
  const out: CorrelationEvent[] = [];
  let offset = 0;
  const ref = (topic: string) => ({ topic, partition: 0, offset: String(offset++) });
  const customers = Math.floor(ENTITIES / 10);
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
      const from = addr(pick(ENTITIES));
      const to = addr(pick(ENTITIES));
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
      const victim = pick(ENTITIES);
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
              to: addr(pick(ENTITIES)),
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
            to: `bc1q${pick(ENTITIES)}`,
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
            to: `bc1q${pick(ENTITIES)}`,
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
            values: { [field]: field === 'payout_address' ? addr(pick(ENTITIES)) : `v${tx++}` },
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

interface Run {
  byRule: Record<string, number>;
  eps: number;
  /** Events per CPU-second of the process (user + system, GC threads included): the machine is shared. */
  cpuEps: number;
  alerts: number;
  p99LatencyUs: number;
  alertP99LatencyUs: number;
  peakRssMb: number;
  stateKeys: number;
  stateMb: number;
}

function runOnce(rules: Rule[], events: CorrelationEvent[]): Run {
  const engine = createEngine({ rules, allowedLateness: '1h' });
  const lat = new Float64Array(events.length);
  const alertLat: number[] = [];
  let alerts = 0;
  const byRule: Record<string, number> = {};
  let peak = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  for (let i = 0; i < events.length; i++) {
    const t0 = performance.now();
    const out = engine.process(events[i]!);
    const dt = performance.now() - t0;
    lat[i] = dt;
    if (out.length) {
      alerts += out.length;
      for (const o of out) byRule[o.alert.ruleId] = (byRule[o.alert.ruleId] ?? 0) + 1;
      alertLat.push(dt);
    }
    if ((i & 0x3fff) === 0) {
      engine.store.takeChanges(); // what the processor does per batch
      peak = Math.max(peak, process.memoryUsage().rss);
    }
  }
  const elapsed = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  peak = Math.max(peak, process.memoryUsage().rss);
  let bytes = 0;
  for (const [k, e] of engine.store.entries()) bytes += k.length + JSON.stringify(e).length;
  const p99 = (xs: ArrayLike<number>) => {
    const s = Array.from(xs).sort((a, b) => a - b);
    return s.length ? s[Math.min(s.length - 1, Math.floor(s.length * 0.99))]! : 0;
  };
  return {
    byRule,
    eps: events.length / (elapsed / 1000),
    cpuEps: events.length / ((cpu.user + cpu.system) / 1e6),
    alerts,
    p99LatencyUs: p99(lat) * 1000,
    alertP99LatencyUs: p99(alertLat) * 1000,
    peakRssMb: peak / 2 ** 20,
    stateKeys: engine.stats().stateKeys,
    stateMb: bytes / 2 ** 20,
  };
}

const events = traffic(N, 7);
globalThis.gc?.();
const baseRss = process.memoryUsage().rss / 2 ** 20;
const rules = catalogue();
const full: Run[] = [];
const bare: Run[] = [];
for (let r = 0; r < REPEATS; r++) {
  bare.push(runOnce([], events));
  full.push(runOnce(rules, events));
  console.error(
    `run ${r + 1}/${REPEATS}: ${Math.round(full[r]!.eps)} events/s (${Math.round(full[r]!.cpuEps)} per CPU-s) with ${rules.length} rules (${Math.round(bare[r]!.eps)} with none), ${full[r]!.alerts} alerts`,
  );
}
const m = (k: Exclude<keyof Run, 'byRule'>, runs = full) => median(runs.map((x) => x[k]));
const results = [
  {
    name: `engine throughput, ${rules.length} rules, ${ENTITIES} entities`,
    unit: 'events/s',
    value: m('eps'),
    reference: m('eps', bare),
    ratio: m('eps') / m('eps', bare),
  },
  {
    name: `engine throughput per CPU-second, ${rules.length} rules, ${ENTITIES} entities`,
    unit: 'events/cpu-s',
    value: m('cpuEps'),
    reference: m('cpuEps', bare),
    ratio: m('cpuEps') / m('cpuEps', bare),
  },
  {
    name: 'per-event latency p99',
    unit: 'us',
    value: m('p99LatencyUs'),
    reference: m('p99LatencyUs', bare),
    ratio: m('p99LatencyUs') / m('p99LatencyUs', bare),
  },
  {
    name: 'alert latency p99 (event in -> alert out, engine only)',
    unit: 'us',
    value: m('alertP99LatencyUs'),
    reference: null,
    ratio: null,
  },
  { name: 'alerts raised', unit: 'alerts', value: m('alerts'), reference: null, ratio: null },
  {
    name: 'peak RSS',
    unit: 'MB',
    value: m('peakRssMb'),
    reference: baseRss,
    ratio: m('peakRssMb') / baseRss,
  },
  {
    name: 'state keys',
    unit: 'keys',
    value: m('stateKeys'),
    reference: m('stateKeys', bare),
    ratio: m('stateKeys') / Math.max(1, m('stateKeys', bare)),
  },
  {
    name: 'state size (JSON)',
    unit: 'MB',
    value: m('stateMb'),
    reference: m('stateMb', bare),
    ratio: m('stateMb') / Math.max(1e-9, m('stateMb', bare)),
  },
];
writeBenchResults('correlation', results, OUT);
console.log(
  JSON.stringify(
    {
      events: N,
      entities: ENTITIES,
      repeats: REPEATS,
      node: process.version,
      alertsByRule: full[0]?.byRule,
      results,
    },
    null,
    2,
  ),
);
