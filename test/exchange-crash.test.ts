// Binance and Coinbase connectors in one real worker process, against venue simulators that inject every
// fault kind, SIGKILLed 20 times at random while following: afterwards the trades topic (read_committed)
// holds every generated trade exactly once, in trade-id order per symbol.
import { randomUUID } from 'node:crypto';
import { describe, expect, inject, it } from 'vitest';
import {
  crashLoop,
  readTopic,
  spawnWorker,
  startBinanceSimulator,
  startCoinbaseSimulator,
  writeConfig,
  type TopicMessage,
} from '@tributary/testkit';

const brokers = inject('kafkaBrokers');
const faults = {
  dropRate: 0.02,
  duplicateRate: 0.02,
  reorderRate: 0.02,
  malformedRate: 0.005,
  rateLimitEvery: 9,
  retryAfterSec: 1,
  disconnectEveryMs: 2_500,
};

function idsByKey(messages: TopicMessage[]) {
  const byKey = new Map<string, { ids: number[]; partitions: Set<number> }>();
  for (const m of messages) {
    const e = byKey.get(m.key!) ?? { ids: [], partitions: new Set<number>() };
    e.ids.push(Number((JSON.parse(m.value!) as { tradeId: string }).tradeId));
    e.partitions.add(m.partition);
    byKey.set(m.key!, e);
  }
  return byKey;
}

describe('exchange connectors crash consistency (real Kafka, real worker, faulty venues)', () => {
  it(
    'survives 12 SIGKILLs: every generated trade exactly once, in order per symbol',
    { timeout: 600_000 },
    async () => {
      const total = 3000;
      const binance = await startBinanceSimulator({
        markets: [
          { id: 'BTCUSDT', base: 'BTC', quote: 'USDT' },
          { id: 'ETHUSDT', base: 'ETH', quote: 'USDT' },
        ],
        ratePerSec: 40,
        total,
        prefill: 300,
        faults,
      });
      const coinbase = await startCoinbaseSimulator({
        markets: [{ id: 'BTC-USD', base: 'BTC', quote: 'USD' }],
        ratePerSec: 40,
        total,
        prefill: 300,
        faults,
      });
      binance.start();
      coinbase.start();
      const id = randomUUID().slice(0, 8);
      const prefix = `t${id}.`;
      const common = { startFrom: { afterId: '0' }, restRateLimitMs: 0, idleCheckMs: 500, gapRetryMs: 50 };
      const file = writeConfig({
        kafka: { brokers, transactionalIdPrefix: `t${id}`, transactionTimeoutMs: 30_000 },
        topics: { prefix, offsetsTopic: `t${id}.offsets`, partitions: 3 },
        worker: { http: false },
        connectors: [
          {
            name: `bin-${id}`,
            type: 'binance',
            batch: { maxRecords: 200, maxMs: 150 },
            config: {
              symbols: ['BTC/USDT', 'ETH/USDT'],
              restUrl: binance.restUrl,
              wsUrl: binance.wsUrl,
              ...common,
            },
          },
          {
            name: `cb-${id}`,
            type: 'coinbase',
            batch: { maxRecords: 200, maxMs: 150 },
            config: { symbols: ['BTC/USD'], restUrl: coinbase.restUrl, wsUrl: coinbase.wsUrl, ...common },
          },
        ],
      });
      try {
        const uptimes = await crashLoop({
          configFile: file,
          kills: 12,
          readyPattern: /task started from committed offsets/,
          minUptimeMs: 200,
          maxUptimeMs: 3_000,
        });
        expect(uptimes).toHaveLength(12);
        const midway = await readTopic(brokers, `${prefix}exchange.trades`);
        expect(midway.length).toBeGreaterThan(0);

        const last = spawnWorker(file);
        const deadline = Date.now() + 150_000;
        let messages: TopicMessage[] = [];
        while (Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 2_000));
          messages = await readTopic(brokers, `${prefix}exchange.trades`);
          if (binance.generator.done && coinbase.generator.done && messages.length >= total * 3) break;
        }
        last.kill('SIGTERM');
        expect(await last.exited).toBe(0);
        messages = await readTopic(brokers, `${prefix}exchange.trades`);
        const byKey = idsByKey(messages);
        expect([...byKey.keys()].sort()).toEqual(['binance:BTCUSDT', 'binance:ETHUSDT', 'coinbase:BTC-USD']);
        const expected = Array.from({ length: total }, (_, i) => i + 1);
        for (const [key, e] of byKey) {
          expect(e.partitions.size, key).toBe(1);
          if (e.ids.length !== total || e.ids.some((v, i) => v !== expected[i])) {
            const dupes = e.ids.length - new Set(e.ids).size;
            const missing = expected.filter((x) => !e.ids.includes(x)).length;
            throw new Error(`${key}: ${e.ids.length} records, ${dupes} duplicates, ${missing} missing`);
          }
        }
        // The faults really happened.
        for (const sim of [binance, coinbase]) {
          expect(sim.stats.dropped).toBeGreaterThan(0);
          expect(sim.stats.duplicated).toBeGreaterThan(0);
          expect(sim.stats.disconnects).toBeGreaterThan(0);
        }
      } finally {
        await binance.close();
        await coinbase.close();
      }
    },
  );
});
