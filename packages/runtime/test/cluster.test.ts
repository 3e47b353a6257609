// Several worker processes share the connectors' tasks through Kafka's group membership. A worker killed
// with SIGKILL loses its tasks to the others within the session timeout; a new worker takes a fair share;
// through every move the output stays exactly once (the new owner fences the old one).
import { describe, expect, inject, it } from 'vitest';
import { logLines, readTopic } from '@tributary/testkit';
import { expectExactSequence } from './helpers.ts';
import {
  groupConfig,
  groupView,
  ofConnector,
  startGroupWorker,
  tasksPerWorker,
  until,
  withDump,
  type RunningWorker,
} from './cluster-helpers.ts';

const brokers = inject('kafkaBrokers');

describe('a group of workers (real Kafka, real worker processes)', () => {
  it('SIGKILL one of three: its tasks produce elsewhere within the bound; a fourth takes a share; every record once, in order', async () => {
    const sessionTimeoutMs = 6_000;
    const total = 6_000;
    const names = ['s1', 's2', 's3'];
    const g = groupConfig({
      brokers,
      sessionTimeoutMs,
      connectors: names.map((name) => ({ name, tasks: 2, ratePerSec: 150, total })),
    });
    const workers: RunningWorker[] = await Promise.all(
      ['w1', 'w2', 'w3'].map((id) => startGroupWorker(g.file, id)),
    );
    try {
      await withDump(workers, async () => {
        const url = workers[0]!.url;
        const balanced = (expected: string[]) => async () => {
          const view = await groupView(url);
          const per = tasksPerWorker(view);
          const ok =
            [...view.values()].every((t) => t.state === 'RUNNING') &&
            expected.every((w) => per[w] === 2) &&
            Object.keys(per).length === expected.length;
          return ok && view;
        };
        const before = await until('6 tasks running, 2 per worker', balanced(['w1', 'w2', 'w3']));
        expect(before.size).toBe(6);

        // Kill w2 while it produces.
        const victim = workers[1]!;
        const moved = [...before].filter(([, t]) => t.worker === 'w2').map(([k]) => k);
        expect(moved).toHaveLength(2);
        await new Promise((r) => setTimeout(r, 1_000));
        const killedAt = Date.now();
        victim.w.kill('SIGKILL');
        await victim.w.exited;

        // Its tasks commit on the survivors ("first transaction committed" after the kill).
        const producedAt = await until(
          'the killed worker’s tasks producing on the others',
          async () => {
            const times = moved.map((k) => {
              const [connector, task] = k.split('/');
              const hits = [workers[0]!, workers[2]!]
                .flatMap((x) => logLines(x.w))
                .filter(
                  (l) =>
                    l.msg === 'first transaction committed' &&
                    l.connector === connector &&
                    String(l.task) === task &&
                    Number(l.time) > killedAt,
                );
              return hits.length ? Math.min(...hits.map((l) => Number(l.time))) : null;
            });
            return times.every((t) => t !== null) && Math.max(...(times as number[]));
          },
          60_000,
        );
        const moveMs = producedAt - killedAt;
        // The bound: the session timeout (the broker notices the death) plus a rejoin and a task start.
        expect(moveMs).toBeGreaterThan(0);
        expect(moveMs).toBeLessThan(sessionTimeoutMs + 15_000);
        const afterKill = await until('6 tasks on w1 and w3', async () => {
          const view = await groupView(url);
          const per = tasksPerWorker(view);
          return (
            [...view.values()].every((t) => t.state === 'RUNNING') && per.w1 === 3 && per.w3 === 3 && view
          );
        });
        for (const k of moved) expect(['w1', 'w3']).toContain(afterKill.get(k)!.worker);

        // A new worker joins: the tasks spread again, two each.
        workers.push(await startGroupWorker(g.file, 'w4'));
        await until('tasks spread over w1, w3, w4', balanced(['w1', 'w3', 'w4']));

        // Let every task finish its sequence, then check the output.
        await until(
          'every task finished',
          async () => [...(await groupView(url)).values()].every((t) => t.state === 'FINISHED'),
          120_000,
        );
      });
    } finally {
      for (const x of workers)
        if (x.w.child.exitCode === null && x.w.child.signalCode === null) x.w.kill('SIGTERM');
    }
    for (const x of workers.filter((x) => x.id !== 'w2')) expect(await x.w.exited).toBe(0);

    const out = await readTopic(brokers, `${g.prefix}synthetic.records`);
    for (const name of names) expectExactSequence(ofConnector(out, name), name, 2, total);
  });
});
