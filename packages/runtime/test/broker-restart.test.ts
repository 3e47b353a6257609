import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  readTopic,
  spawnWorker,
  startKafka,
  waitForOutput,
  writeConfig,
  type KafkaBroker,
} from '@tributary/testkit';
import { expectExactSequence, syntheticConfig } from './helpers.ts';

describe('broker restart mid-run', () => {
  let kafka: KafkaBroker;
  beforeAll(async () => {
    // A private broker: this test stops it, which must not disturb other tests.
    kafka = await startKafka({ private: true });
  });
  afterAll(async () => kafka?.close());

  it('recovers with nothing lost or duplicated', async () => {
    const s = syntheticConfig({ brokers: kafka.brokers, partitions: 2, total: 5000, ratePerSec: 600 });
    const w = spawnWorker(writeConfig(s.config));
    await waitForOutput(w, /task started from committed offsets/);
    await new Promise((r) => setTimeout(r, 1500));
    await kafka.stop();
    await new Promise((r) => setTimeout(r, 3000));
    await kafka.restart();
    await waitForOutput(w, /task finished/, 150_000);
    expect(await w.exited).toBe(0);
    expect(w.output()).toMatch(/restarting from committed offsets/);
    expectExactSequence(await readTopic(kafka.brokers, `${s.prefix}synthetic.records`), s.connector, 2, 5000);
  });
});
