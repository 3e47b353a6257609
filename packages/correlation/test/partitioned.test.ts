// Scale-out by partitions against real Kafka: inputs keyed by entity (each customer's CRM changes and
// transfers in one partition), two processor instances in one group sharing the tasks, a task moving
// between them (its state rebuilt from its changelog partition), and the watchlist topic read whole by
// every instance. The alerts topic must hold each expected alert exactly once.
import { describe, expect, inject, it } from 'vitest';
import { pino } from 'pino';
import { join } from 'node:path';
import { createTopics, readTopic, spawnCli, writeConfig } from '@tributary/testkit';
import { alert as alertSchema, type Alert } from '@tributary/schemas';
import { coPartitionedAssignment } from '../src/co-partition.ts';
import { runProcessor, type ProcessorOptions } from '../src/processor.ts';
import { catalogue } from '../src/rules/index.ts';
import { address, H, T0 } from './fixtures.ts';
import {
  createKeyedTopics,
  KEYED_EXPECTED,
  keyedScenario,
  produceKeyed,
  transferMaker,
  type Keyed,
} from './entity-keyed.ts';
import { produceTo, topicsFor, uniquePrefix, waitCaughtUp } from './scenario.ts';

const brokers = inject('kafkaBrokers');
const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');
const logger = pino({ level: 'warn' });

describe('partitioned processor (scale-out by partitions)', () => {
  it('deals partition numbers to members, each member getting that partition of every topic', () => {
    const a = coPartitionedAssignment(
      ['m-b', 'm-a'],
      new Map([
        ['t1', 3],
        ['t2', 3],
      ]),
    );
    expect(a.get('m-a')).toEqual({ t1: [0, 2], t2: [0, 2] });
    expect(a.get('m-b')).toEqual({ t1: [1], t2: [1] });
    expect(coPartitionedAssignment(['m'], new Map([['t', 2]])).get('m')).toEqual({ t: [0, 1] });
  });

  it('two instances share the tasks; a task moves with its state; each alert lands exactly once', async () => {
    const prefix = uniquePrefix();
    const { inputs, outputs } = topicsFor(prefix);
    await createKeyedTopics(brokers, inputs);
    const phases = keyedScenario(20);
    const groupId = `${prefix}correlation`;
    const watched = [inputs.transfers, inputs.crm];
    const tasksOf = new Map<string, Set<number>>();
    const alertsBy = new Map<string, number>();
    const start = (name: string) => {
      const ac = new AbortController();
      tasksOf.set(name, new Set());
      const opts: ProcessorOptions = {
        brokers,
        groupId,
        inputs,
        outputs,
        partitioned: true,
        rules: catalogue(),
        sessionTimeoutMs: 6_000,
        watchlistPollMs: 200,
        logger,
        signal: ac.signal,
        onCommit: (c) => {
          tasksOf.get(name)!.add(c.partition);
          alertsBy.set(name, (alertsBy.get(name) ?? 0) + c.alerts);
        },
      };
      const running = runProcessor(opts);
      return { stop: async () => (ac.abort(), await running) };
    };
    const produce = (records: Keyed[]) => produceKeyed(brokers, inputs, records);
    // Filler transfers, with hashes apart from the scenario's.
    const transfer = transferMaker('f');

    // One instance: it owns both tasks.
    const first = start('first');
    await produce(phases[0]!);
    await waitCaughtUp(brokers, groupId, watched);
    expect([...tasksOf.get('first')!].sort()).toEqual([0, 1]);

    // A second instance joins: the group deals it one task, whose state it restores from that task's
    // changelog partition (the CRM links and counterparties of phase 1 are needed by the rules later).
    const second = start('second');
    await produce(phases[1]!);
    await waitCaughtUp(brokers, groupId, watched);
    const deadline = Date.now() + 60_000;
    while (tasksOf.get('second')!.size === 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      await produce([
        transfer(0, { from: address('x'), to: address('y'), at: T0 + 6 * H }),
        transfer(1, { from: address('x2'), to: address('y2'), at: T0 + 6 * H }),
      ]);
      await waitCaughtUp(brokers, groupId, watched);
    }
    expect(tasksOf.get('second')!.size).toBe(1);
    await produce(phases[2]!);
    await waitCaughtUp(brokers, groupId, watched);
    // Its task's withdrawal matched CRM state that the first instance wrote in phase 1: restored.
    expect(alertsBy.get('second')).toBe(1);

    // The second leaves: its task comes back to the first, rebuilt from the changelog again. The watchlist
    // topic is read whole by each instance, so the task of partition 1 screens the sanctioned transfer.
    await second.stop();
    await produce(phases[3]!);
    await waitCaughtUp(brokers, groupId, watched, 90_000);
    const alertsDeadline = Date.now() + 30_000;
    let alerts: Alert[] = [];
    while (Date.now() < alertsDeadline) {
      alerts = (await readTopic(brokers, outputs.alerts)).map(
        (m) => alertSchema.parse(JSON.parse(m.value!)) as Alert,
      );
      if (alerts.some((a) => a.ruleId === 'watchlist-transfer')) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    await first.stop();

    alerts = (await readTopic(brokers, outputs.alerts)).map(
      (m) => alertSchema.parse(JSON.parse(m.value!)) as Alert,
    );
    expect(alerts.map((a) => [a.ruleId, a.entity]).sort()).toEqual(KEYED_EXPECTED);
    const takeover = alerts.find((a) => a.ruleId === 'account-takeover')!;
    expect(takeover.evidence.map((e) => [e.topic, e.partition])).toEqual([
      [inputs.crm, 0],
      [inputs.transfers, 0],
    ]);
    // Each task wrote its state to its own changelog partition.
    const changelog = await readTopic(brokers, outputs.changelog);
    expect(new Set(changelog.map((m) => m.partition))).toEqual(new Set([0, 1]));
  }, 240_000);

  it('refuses inputs that are not co-partitioned, naming the topics', async () => {
    const prefix = uniquePrefix();
    const { inputs, outputs } = topicsFor(prefix);
    await createTopics(brokers, [
      { topic: inputs.transfers, numPartitions: 2 },
      { topic: inputs.crm, numPartitions: 1 },
    ]);
    await expect(
      runProcessor({
        brokers,
        groupId: `${prefix}correlation`,
        inputs,
        outputs,
        partitioned: true,
        rules: catalogue(),
        logger,
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow(`${inputs.transfers}: 2, ${inputs.crm}: 1`);
  }, 30_000);

  it('run --threads 2: one process, two processor threads sharing the tasks; each alert exactly once', async () => {
    const prefix = uniquePrefix();
    const { inputs, outputs } = topicsFor(prefix);
    await createKeyedTopics(brokers, inputs);
    const groupId = `${prefix}correlation`;
    const config = writeConfig({
      brokers,
      groupId,
      topicPrefix: prefix,
      partitioned: true,
      sessionTimeoutMs: 6_000,
    });
    const w = spawnCli(['run', '--config', config, '--threads', '2', '--http-port', '0'], {
      cli,
      env: { LOG_LEVEL: 'info' },
    });
    try {
      for (const phase of keyedScenario(20)) {
        await produceKeyed(brokers, inputs, phase);
        await waitCaughtUp(
          brokers,
          groupId,
          [inputs.transfers, inputs.crm],
          90_000,
          () => w.child.exitCode === null,
        );
      }
      // One malformed transfer: dead-lettered and counted, the rest unaffected.
      await produceTo(brokers, [{ topic: inputs.transfers, partition: 1, value: Buffer.from('oops') }]);
      await waitCaughtUp(brokers, groupId, [inputs.transfers], 90_000, () => w.child.exitCode === null);
      const deadline = Date.now() + 30_000;
      let alerts: Alert[] = [];
      while (alerts.length < KEYED_EXPECTED.length && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        alerts = (await readTopic(brokers, outputs.alerts)).map(
          (m) => alertSchema.parse(JSON.parse(m.value!)) as Alert,
        );
      }
      expect(alerts.map((a) => [a.ruleId, a.entity]).sort()).toEqual(KEYED_EXPECTED);
      // The process's metrics add up both threads' commits.
      const url = /"url":"(http:\/\/[^"]+)","msg":"http listening/.exec(w.output())![1]!;
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { lastCommit: string | null }).lastCommit).not.toBeNull();
      // A thread reports a commit to the main thread just after it: poll for the last one.
      let text = '';
      for (const until = Date.now() + 10_000; Date.now() < until;) {
        text = await (await fetch(`${url}/metrics`)).text();
        if (text.includes('tributary_correlation_alerts_total 3')) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(text).toContain('tributary_correlation_alerts_total 3');
      const records = [...text.matchAll(/^tributary_correlation_records_total\{topic="([^"]+)"\} (\d+)$/gm)];
      const byTopic = Object.fromEntries(records.map((m) => [m[1], Number(m[2])]));
      expect(byTopic[inputs.transfers]).toBe(
        keyedScenario(20)
          .flat()
          .filter((r) => r.topic === 'transfers').length + 1,
      );
      expect(text).toContain(`tributary_correlation_dead_letters_total{topic="${inputs.transfers}"} 1`);
      const dead = await readTopic(brokers, outputs.deadLetters!);
      expect(dead.map((m) => JSON.parse(m.value!) as { reason: string; sourceRef: string })).toMatchObject([
        { reason: 'not-json', sourceRef: expect.stringMatching(new RegExp(`^${inputs.transfers}:1:\\d+$`)) },
      ]);
    } finally {
      w.kill('SIGTERM');
    }
    expect(await w.exited).toBe(0);
    // Each thread opened one task.
    const opened = w
      .output()
      .split('\n')
      .filter((l) => l.includes('"task ready"'))
      .map((l) => JSON.parse(l) as { thread: number; task: number });
    expect(new Set(opened.map((o) => o.thread))).toEqual(new Set([0, 1]));
    expect(new Set(opened.map((o) => o.task))).toEqual(new Set([0, 1]));
  }, 180_000);

  it('run --threads 2 without partitioned exits 2 and says why', async () => {
    const config = writeConfig({ brokers, groupId: 'unused' });
    const w = spawnCli(['run', '--config', config, '--threads', '2'], { cli });
    expect(await w.exited).toBe(2);
    expect(w.output()).toContain('needs "partitioned": true');
  });
});
