import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import {
  groupLag,
  readTopic,
  spawnCli,
  waitForOutput,
  writeConfig,
  type WorkerProcess,
} from '@tributary/testkit';
import { alert as alertSchema } from '@tributary/schemas';
import {
  createInputTopics,
  EXPECTED,
  produce,
  scenario,
  uniquePrefix,
  waitCaughtUp,
  writeSdn,
  topicsFor,
} from './scenario.ts';
import { createKeyedTopics, KEYED_EXPECTED, keyedScenario, produceKeyed } from './entity-keyed.ts';
import { routedSource } from '../src/route.ts';

const brokers = inject('kafkaBrokers');
const cli = join(import.meta.dirname, '..', 'src', 'cli.ts');

/** A seeded random sequence in [0, 1), so a failing run's kill points can be replayed. */
function lcg(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
}

function start(configFile: string): WorkerProcess {
  return spawnCli(['run', '--config', configFile], { cli, env: { LOG_LEVEL: 'info' } });
}

/** Lets the processor work off a random share of its lag after it joined the group, then SIGKILLs it. */
async function killMidWork(w: WorkerProcess, lag: () => Promise<number>, share: number): Promise<void> {
  await waitForOutput(w, /group joined/, 60_000);
  const target = Math.floor((await lag()) * (1 - share));
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && (await lag()) > target) await new Promise((r) => setTimeout(r, 10));
  if (w.child.exitCode !== null)
    throw new Error(`processor exited on its own (${w.child.exitCode}):\n${w.output().slice(-3000)}`);
  w.kill('SIGKILL');
  await w.exited;
}

describe('crash consistency (processor as a child process, SIGKILLed)', () => {
  it('holds each alert exactly once after repeated SIGKILLs mid-scenario', async () => {
    const prefix = uniquePrefix();
    await createInputTopics(brokers, prefix);
    const groupId = `${prefix}correlation`;
    const configFile = writeConfig({
      brokers,
      groupId,
      topicPrefix: prefix,
      sessionTimeoutMs: 6_000,
      // Small fetches (and small produce requests below, since a fetch returns at least one whole record
      // batch): many transactions per phase, so the kills land between and inside them.
      maxBytesPerPartition: 8 * 1024,
      watchlists: [{ path: writeSdn(), format: 'ofac-sdn' }],
    });
    const phases = scenario(3_000);
    const rnd = lcg(42);
    const inputs = [`${prefix}chain.transfers`, `${prefix}crm.changes`];
    let kills = 0;
    const lags: number[] = [];
    for (const phase of phases) {
      await produce(brokers, prefix, phase, 25);
      for (let i = 0; i < 2; i++) {
        const w = start(configFile);
        await killMidWork(w, () => groupLag(brokers, groupId, inputs), 0.2 + 0.6 * rnd());
        kills++;
        lags.push(await groupLag(brokers, groupId, inputs));
      }
    }
    const t0 = Date.now();
    const last = start(configFile);
    await waitForOutput(last, /processor ready/, 60_000);
    const tReady = Date.now();
    await waitCaughtUp(brokers, groupId, inputs, 120_000, () => last.child.exitCode === null);
    console.log(`final run: ready after ${tReady - t0} ms, caught up after ${Date.now() - tReady} ms`);
    last.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const alerts = (await readTopic(brokers, `${prefix}alerts`)).map((m) =>
      alertSchema.parse(JSON.parse(m.value!)),
    );
    expect(kills).toBe(6);
    // Lag after each kill: > 0 means the processor died with work in flight.
    console.log(
      `crash test: ${kills} SIGKILLs; records behind after each: ${lags.join(', ')}; ${alerts.length} alerts`,
    );
    expect(lags.filter((l) => l > 0).length).toBeGreaterThanOrEqual(3);
    expect(alerts.map((a) => [a.ruleId, a.entity]).sort()).toEqual(EXPECTED);
    expect(new Set(alerts.map((a) => a.alertId)).size).toBe(alerts.length);
    // Test-mode alerts (velocity on the busy benign senders) are exactly-once too.
    const testAlerts = (await readTopic(brokers, `${prefix}alerts.test`)).map((m) =>
      alertSchema.parse(JSON.parse(m.value!)),
    );
    expect(testAlerts.length).toBeGreaterThan(0);
    expect(testAlerts.every((a) => a.ruleId === 'velocity' && a.mode === 'test')).toBe(true);
    expect(new Set(testAlerts.map((a) => a.alertId)).size).toBe(testAlerts.length);
    // About 70 s on the 2-core CI machine: room for a slower one, as the other crash tests have.
  }, 600_000);

  it('partitioned: two instances sharing the tasks, SIGKILLed in turn, hold each alert exactly once', async () => {
    const prefix = uniquePrefix();
    const { inputs } = topicsFor(prefix);
    await createKeyedTopics(brokers, inputs);
    const groupId = `${prefix}correlation`;
    const configFile = writeConfig({
      brokers,
      groupId,
      topicPrefix: prefix,
      partitioned: true,
      sessionTimeoutMs: 6_000,
      maxBytesPerPartition: 8 * 1024,
    });
    const phases = keyedScenario(1_500);
    const rnd = lcg(7);
    const watched = [inputs.transfers, inputs.crm];
    const lag = () => groupLag(brokers, groupId, watched);
    // Two instances; in each round one of them (at random) is SIGKILLed mid-work and started again. Its
    // tasks wait for the session timeout, then move to the survivor, which fences their transactional ids
    // (aborting what the dead one left open) and restores their changelog partitions.
    const workers: WorkerProcess[] = [start(configFile), start(configFile)];
    let kills = 0;
    const lags: number[] = [];
    for (const phase of phases) {
      await produceKeyed(brokers, inputs, phase, 25);
      for (let round = 0; round < 2; round++) {
        const victim = rnd() < 0.5 ? 0 : 1;
        await killMidWork(workers[victim]!, lag, 0.2 + 0.5 * rnd());
        kills++;
        lags.push(await lag());
        workers[victim] = start(configFile);
      }
    }
    await waitCaughtUp(brokers, groupId, watched, 180_000, () =>
      workers.every((w) => w.child.exitCode === null),
    );
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);

    const alerts = (await readTopic(brokers, `${prefix}alerts`)).map((m) =>
      alertSchema.parse(JSON.parse(m.value!)),
    );
    console.log(
      `partitioned crash test: ${kills} SIGKILLs; records behind after each: ${lags.join(', ')}; ${alerts.length} alerts`,
    );
    expect(kills).toBe(8);
    expect(lags.filter((l) => l > 0).length).toBeGreaterThanOrEqual(4);
    expect(alerts.map((a) => [a.ruleId, a.entity]).sort()).toEqual(KEYED_EXPECTED);
    expect(new Set(alerts.map((a) => a.alertId)).size).toBe(alerts.length);
  }, 600_000);

  it('re-keyed: the rekey stage and two processors, each SIGKILLed three times at random points, hold each alert and each routed record exactly once', async () => {
    const prefix = uniquePrefix();
    await createInputTopics(brokers, prefix);
    const { inputs, outputs } = topicsFor(prefix);
    const groupId = `${prefix}correlation`;
    const partitions = 4;
    const byEntity = `${prefix}correlation.by-entity`;
    const configFile = writeConfig({
      brokers,
      groupId,
      topicPrefix: prefix,
      rekey: { partitions },
      sessionTimeoutMs: 6_000,
      maxBytesPerPartition: 8 * 1024,
      watchlists: [{ path: writeSdn(), format: 'ofac-sdn' }],
    });
    const phases = scenario(1_500);
    const rnd = lcg(11);
    const sources = [inputs.transfers, inputs.crm];
    const rekeyLag = () => groupLag(brokers, `${groupId}-rekey`, [...sources, outputs.alerts]);
    const processorLag = () => groupLag(brokers, groupId, [byEntity]);
    const rekey = () => spawnCli(['rekey', '--config', configFile], { cli, env: { LOG_LEVEL: 'info' } });
    // Worker 0 is the rekey stage, 1 and 2 the processors; each round SIGKILLs one of them mid-work, in turn
    // (three kills each), at a random point.
    const workers: WorkerProcess[] = [rekey(), start(configFile), start(configFile)];
    let kills = 0;
    const behind: number[] = [];
    const victims: string[] = [];
    for (const phase of phases) {
      await produce(brokers, prefix, phase, 25);
      for (let round = 0; round < 3; round++) {
        const victim = kills % 3;
        victims.push(victim === 0 ? 'rekey' : `processor ${victim}`);
        await killMidWork(workers[victim]!, victim === 0 ? rekeyLag : processorLag, 0.2 + 0.5 * rnd());
        kills++;
        behind.push((await rekeyLag()) + (await processorLag()));
        workers[victim] = victim === 0 ? rekey() : start(configFile);
      }
    }
    // Alerts go round (the wave's inputs pass through the alerts topic and the rekey stage): wait until
    // both groups are caught up and the alerts topic stops growing.
    const alive = () => workers.every((w) => w.child.exitCode === null);
    let count = -1;
    for (const deadline = Date.now() + 180_000; Date.now() < deadline;) {
      await waitCaughtUp(brokers, `${groupId}-rekey`, [...sources, outputs.alerts], 180_000, alive);
      await waitCaughtUp(brokers, groupId, [byEntity], 180_000, alive);
      const now = (await readTopic(brokers, outputs.alerts)).length;
      if (now === count && now >= EXPECTED.length) break;
      count = now;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    for (const w of workers) w.kill('SIGTERM');
    for (const w of workers) expect(await w.exited).toBe(0);

    const alerts = (await readTopic(brokers, outputs.alerts)).map((m) =>
      alertSchema.parse(JSON.parse(m.value!)),
    );
    console.log(
      `re-keyed crash test: ${kills} SIGKILLs (${victims.join(', ')}); records behind after each: ${behind.join(', ')}; ${alerts.length} alerts`,
    );
    expect(kills).toBe(9);
    expect(behind.filter((l) => l > 0).length).toBeGreaterThanOrEqual(5);
    expect(alerts.map((a) => [a.ruleId, a.entity]).sort()).toEqual(EXPECTED);
    expect(new Set(alerts.map((a) => a.alertId)).size).toBe(alerts.length);
    // Every source record reached the by-entity topic, once per partition it was routed to: CRM changes
    // to every partition, every transfer to at least one.
    const copies = new Map<string, number>();
    for (const m of await readTopic(brokers, byEntity)) {
      const s = routedSource(m.headers);
      if (typeof s === 'string') throw new Error(s);
      const k = `${s.ref.topic}:${s.ref.partition}:${s.ref.offset}@${m.partition}`;
      copies.set(k, (copies.get(k) ?? 0) + 1);
    }
    expect([...copies.values()].filter((n) => n !== 1)).toEqual([]);
    const routedFrom = (topic: string) =>
      new Set([...copies.keys()].filter((k) => k.startsWith(`${topic}:`)).map((k) => k.split('@')[0])).size;
    const produced = phases.flat();
    expect(routedFrom(inputs.transfers)).toBe(produced.filter((p) => p.topic === 'transfers').length);
    expect([...copies.keys()].filter((k) => k.startsWith(`${inputs.crm}:`))).toHaveLength(
      produced.filter((p) => p.topic === 'crm').length * partitions,
    );
  }, 600_000);
});
