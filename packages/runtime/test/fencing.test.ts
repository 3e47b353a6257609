import { describe, expect, inject, it } from 'vitest';
import { readTopic, spawnWorker, waitForOutput, writeConfig } from '@tributary/testkit';
import { expectExactSequence, syntheticConfig } from './helpers.ts';

const brokers = inject('kafkaBrokers');

describe('fencing', () => {
  it('a second worker running the same task fences the first, which stops (exit 3) and says so', async () => {
    // 20 s of records: the older worker must still be running when the newer one (a cold tsx start, slow
    // on a loaded machine) fences it.
    const s = syntheticConfig({ brokers, partitions: 1, total: 5000, ratePerSec: 250 });
    const file = writeConfig(s.config);
    const older = spawnWorker(file);
    await waitForOutput(older, /task started from committed offsets/);
    await new Promise((r) => setTimeout(r, 800));

    const newer = spawnWorker(file);
    expect(await older.exited).toBe(3);
    expect(older.output()).toMatch(/fenced: another worker now runs/);
    // It stopped rather than retrying into a loop.
    expect(older.output().match(/restarting from committed offsets/g) ?? []).toHaveLength(0);

    await waitForOutput(newer, /task finished/, 90_000);
    expect(await newer.exited).toBe(0);
    expectExactSequence(await readTopic(brokers, `${s.prefix}synthetic.records`), s.connector, 1, 5000);
  });
});
