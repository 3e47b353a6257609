import { describe, expect, inject, it } from 'vitest';
import { crashLoop, readTopic, spawnWorker, waitForOutput, writeConfig } from '@tributary/testkit';
import { expectExactSequence, syntheticConfig } from './helpers.ts';

const brokers = inject('kafkaBrokers');

describe('crash consistency (real Kafka, real worker processes)', () => {
  it('survives 12 SIGKILLs at random moments: every record exactly once, in order', async () => {
    const kills = 12;
    const maxUptimeMs = 3_500;
    const ratePerSec = 400;
    // More records than the kill phase can produce even if every run lived its longest, so every kill
    // lands while the worker is producing; a final unthrottled run (same connector, same offsets) ends it.
    const total = ratePerSec * kills * (maxUptimeMs / 1000) + 5_000;
    const s = syntheticConfig({ brokers, partitions: 2, total, ratePerSec, maxRecords: 300, maxMs: 150 });
    const uptimes = await crashLoop({
      configFile: writeConfig(s.config),
      kills,
      minUptimeMs: 400,
      maxUptimeMs,
    });
    expect(uptimes).toHaveLength(kills);

    const midway = await readTopic(brokers, `${s.prefix}synthetic.records`);
    expect(midway.length).toBeGreaterThan(0);
    expect(midway.length).toBeLessThan(total * 2);

    const unthrottled = structuredClone(s.config);
    unthrottled.connectors[0]!.config.ratePerSec = 0;
    const last = spawnWorker(writeConfig(unthrottled));
    await waitForOutput(last, /task finished/, 120_000);
    expect(await last.exited).toBe(0);
    expectExactSequence(await readTopic(brokers, `${s.prefix}synthetic.records`), s.connector, 2, total);
  });
});
