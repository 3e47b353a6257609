import { describe, expect, inject, it } from 'vitest';
import { readTopic, spawnWorker, waitForOutput, writeConfig } from '@tributary/testkit';
import { expectExactSequence, syntheticConfig } from './helpers.ts';

const brokers = inject('kafkaBrokers');

describe('exactly-once source offsets (real Kafka)', () => {
  it('resumes after a clean restart; offsets topic agrees with the output', async () => {
    const s = syntheticConfig({ brokers, partitions: 2, total: 3000, ratePerSec: 1500 });
    const file = writeConfig(s.config);

    const first = spawnWorker(file);
    await waitForOutput(first, /task started from committed offsets/);
    await new Promise((r) => setTimeout(r, 700));
    first.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.output()).toMatch(/SIGTERM: finishing open transactions/);
    const partial = await readTopic(brokers, `${s.prefix}synthetic.records`);
    expect(partial.length).toBeGreaterThan(0);
    expect(partial.length).toBeLessThan(6000);

    const second = spawnWorker(file);
    await waitForOutput(second, /task finished/, 90_000);
    expect(await second.exited).toBe(0);
    // The second run started where the first committed, not at zero.
    const startLine = second
      .output()
      .split('\n')
      .find((l) => l.includes('task started from committed offsets'))!;
    const resumedFrom = (JSON.parse(startLine) as { offsets: Record<string, { next: number }> }).offsets;
    expect(resumedFrom['0']!.next).toBeGreaterThan(0);
    expect(resumedFrom['1']!.next).toBeGreaterThan(0);

    const out = await readTopic(brokers, `${s.prefix}synthetic.records`);
    expectExactSequence(out, s.connector, 2, 3000);
    const offsets = await readTopic(brokers, `${s.prefix}offsets`);
    const last = new Map<string, number>();
    for (const m of offsets) {
      const key = JSON.parse(m.key!) as [string, string];
      if (key[0] !== s.connector || m.value === null) continue;
      last.set(key[1], (JSON.parse(m.value) as { offset: { next: number } }).offset.next);
    }
    expect(Object.fromEntries(last)).toEqual({ '0': 3000, '1': 3000 });
  });

  it('writes malformed payloads to the dead-letter topic with the reason, and goes on', async () => {
    const s = syntheticConfig({ brokers, partitions: 1, total: 500, poison: [7, 250] });
    const w = spawnWorker(writeConfig(s.config));
    await waitForOutput(w, /task finished/, 60_000);
    expect(await w.exited).toBe(0);
    expectExactSequence(
      await readTopic(brokers, `${s.prefix}synthetic.records`),
      s.connector,
      1,
      500,
      [7, 250],
    );
    const dead = await readTopic(brokers, `${s.prefix}deadletter`);
    expect(dead).toHaveLength(2);
    const values = dead.map(
      (d) =>
        JSON.parse(d.value!) as { reason: string; sourceRef: string; payload: string; connector: string },
    );
    expect(values.map((v) => v.sourceRef)).toEqual(['0:7', '0:250']);
    expect(values.every((v) => v.reason === 'synthetic-poison' && v.connector === s.connector)).toBe(true);
    expect(values[0]!.payload).toBe('{"seq":7,');
    expect(dead[0]!.headers['tributary.dead-letter.reason']).toBe('synthetic-poison');
  });
});

describe('topics the worker creates', () => {
  it('keep backfilled history: records carry event time, so retention is off unless configured', async () => {
    const { Kafka, logLevel } = await import('kafkajs');
    const s = syntheticConfig({ brokers, partitions: 1, total: 10 });
    const w = spawnWorker(
      writeConfig({
        ...s.config,
        topics: {
          ...s.config.topics,
          configs: { '*': { 'retention.ms': '-1' }, deadletter: { 'retention.ms': '604800000' } },
        },
      }),
    );
    await waitForOutput(w, /task finished/, 60_000);
    expect(await w.exited).toBe(0);
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [`${s.prefix}synthetic.records`, `${s.prefix}deadletter`].map((name) => ({
          type: 2,
          name,
          configNames: ['retention.ms'],
        })),
      });
      const retention = Object.fromEntries(
        resources.map((r) => [r.resourceName, r.configEntries[0]!.configValue]),
      );
      expect(retention).toEqual({
        [`${s.prefix}synthetic.records`]: '-1',
        [`${s.prefix}deadletter`]: '604800000',
      });
    } finally {
      await admin.disconnect();
    }
  });
});
