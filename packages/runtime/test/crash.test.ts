import { describe, expect, inject, it } from 'vitest';
import { crashLoop, readTopic, spawnWorker, waitForOutput, writeConfig } from '@tributary/testkit';
import { expectExactSequence, syntheticConfig } from './helpers.ts';

const brokers = inject('kafkaBrokers');

describe('crash consistency (real Kafka, real worker processes)', () => {
  it('survives 20 SIGKILLs at random moments: every record exactly once, in order', async () => {
    const total = 12_000;
    const s = syntheticConfig({ brokers, partitions: 2, total, ratePerSec: 800, maxRecords: 300, maxMs: 150 });
    const file = writeConfig(s.config);
    const uptimes = await crashLoop({ configFile: file, kills: 20, minUptimeMs: 400, maxUptimeMs: 3_500 });
    expect(uptimes).toHaveLength(20);

    // Some kills must have landed mid-stream, or the test proves nothing.
    const midway = await readTopic(brokers, `${s.prefix}synthetic.records`);
    expect(midway.length).toBeGreaterThan(0);
    expect(midway.length).toBeLessThan(total * 2);

    const last = spawnWorker(file);
    await waitForOutput(last, /task finished/, 120_000);
    expect(await last.exited).toBe(0);
    expectExactSequence(await readTopic(brokers, `${s.prefix}synthetic.records`), s.connector, 2, total);
  });
});
