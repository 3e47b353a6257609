// The leader's assigner is a plain function: these pin its promises (even, sticky, config-aware) without
// a broker. The group tests (cluster.test.ts) show the same through real workers.
import { describe, expect, it } from 'vitest';
import { assignTasks, tasksOfPartitions, type Advertisement, type Member } from '../src/assignment.ts';

const TASKS: [string, string][] = ['a/0', 'a/1', 'b/0', 'b/1', 'c/0', 'c/1'].map((k) => [k, 'fp1']);

function member(worker: string, owned: string[] = [], tasks = TASKS, version = -1): Member {
  return { memberId: `m-${worker}`, ad: { worker, version, tasks, owned } };
}

function counts(r: ReturnType<typeof assignTasks>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const w of r.tasks.values()) out[w] = (out[w] ?? 0) + 1;
  return out;
}

describe('assignTasks', () => {
  it('spreads tasks evenly and answers with partitions indexing each member’s own list', () => {
    const r = assignTasks([member('w1'), member('w2'), member('w3')]);
    expect(r.tasks.size).toBe(6);
    expect(counts(r)).toEqual({ w1: 2, w2: 2, w3: 2 });
    const w2 = member('w2').ad;
    const back = tasksOfPartitions(r.partitions.get('m-w2')!, w2);
    expect([...back.keys()].sort()).toEqual(
      [...r.tasks]
        .filter(([, w]) => w === 'w2')
        .map(([k]) => k)
        .sort(),
    );
    expect(r.partitions.get('m-w2')!.every((p) => p >= 1)).toBe(true);
  });

  it('keeps tasks where they run and moves only what a new member needs', () => {
    const before = assignTasks([member('w1'), member('w2')]);
    const owned = (w: string) => [...before.tasks].filter(([, x]) => x === w).map(([k]) => k);
    const after = assignTasks([member('w1', owned('w1')), member('w2', owned('w2')), member('w3')]);
    expect(counts(after)).toEqual({ w1: 2, w2: 2, w3: 2 });
    const moved = [...after.tasks].filter(([k, w]) => before.tasks.get(k) !== w);
    expect(moved).toHaveLength(2);
    expect(moved.every(([, w]) => w === 'w3')).toBe(true);
  });

  it('gives a dead member’s tasks to the others and leaves the rest alone', () => {
    const owned = { w1: ['a/0', 'a/1'], w2: ['b/0', 'b/1'], w3: ['c/0', 'c/1'] };
    const r = assignTasks([member('w1', owned.w1), member('w3', owned.w3)]);
    expect(counts(r)).toEqual({ w1: 3, w3: 3 });
    for (const k of [...owned.w1, ...owned.w3]) expect(r.tasks.get(k)).toBe(k.startsWith('a') ? 'w1' : 'w3');
  });

  it('balances 7 tasks over 3 members as 3/2/2, not 3/3/1', () => {
    const seven: [string, string][] = [...TASKS, ['d/0', 'fp1']];
    const r = assignTasks([
      member('w1', ['a/0', 'a/1', 'b/0', 'b/1'], seven),
      member('w2', ['c/0', 'c/1', 'd/0'], seven),
      member('w3', [], seven),
    ]);
    expect(Object.values(counts(r)).sort()).toEqual([2, 2, 3]);
  });

  it('takes the task set of the newest reload and gives a task only to members with the same config', () => {
    const newer: [string, string][] = [
      ['a/0', 'fp1'],
      ['a/1', 'fp1'],
      ['d/0', 'fp9'],
    ];
    const r = assignTasks([
      member('w1', ['a/0', 'b/0', 'c/0'], TASKS, 3),
      member('w2', ['a/1', 'b/1', 'c/1'], newer, 7),
    ]);
    // b and c were removed by the newer config; d exists only in w2's config.
    expect([...r.tasks.keys()].sort()).toEqual(['a/0', 'a/1', 'd/0']);
    expect(r.tasks.get('d/0')).toBe('w2');
    expect(r.tasks.get('a/0')).toBe('w1');
    expect(r.reference).toBe('w2');
  });

  it('does not hand a changed connector’s task to a member still on the old settings', () => {
    const changed: [string, string][] = TASKS.map(([k]) => [k, k.startsWith('a') ? 'fp2' : 'fp1']);
    const r = assignTasks([member('w1', ['a/0', 'a/1'], TASKS, 1), member('w2', [], changed, 2)]);
    expect(r.tasks.get('a/0')).toBe('w2');
    expect(r.tasks.get('a/1')).toBe('w2');
  });

  it('with no tasks, still answers every member (partition 0 is added by the group layer)', () => {
    const ad: Advertisement = { worker: 'w1', version: -1, tasks: [], owned: [] };
    const r = assignTasks([{ memberId: 'm1', ad }]);
    expect(r.partitions.get('m1')).toEqual([]);
    expect(r.tasks.size).toBe(0);
  });
});
