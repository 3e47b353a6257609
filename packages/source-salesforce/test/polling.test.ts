// Polling mode in-process against the simulator: keyset paging on (SystemModstamp, Id) through equal
// timestamps, deletes through queryAll, rows committed late behind the cursor (caught by the lookback,
// lost without it), and resume from the committed offset.
import { afterEach, describe, expect, it } from 'vitest';
import type { CrmChange } from '@tributary/schemas';
import { collect, configFor, startSim, type Sim } from './helpers.ts';

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const POLL = 'poll:Account';
const version = (c: CrmChange) => `${c.recordId}@${String(c.values.SystemModstamp)}`;

/** Every record's current version (Id, SystemModstamp) has been emitted. */
const caughtUp = (s: Sim) => (changes: CrmChange[]) => {
  const have = new Set(
    changes.map((c) => `${c.recordId}@${Date.parse(String(c.values.SystemModstamp).replace('+0000', 'Z'))}`),
  );
  return [...s.org.records('Account').values()].every((r) =>
    have.has(`${r.Id}@${Date.parse(String(r.SystemModstamp))}`),
  );
};

const expectNoVersionTwice = (changes: CrmChange[]) => {
  const v = changes.map(version);
  expect(new Set(v).size).toBe(v.length);
};

describe('salesforce polling source', () => {
  it('pages through many rows sharing one SystemModstamp by Id, emits creates, updates and deletes once each', async () => {
    // One-minute modstamp resolution: every row of the test shares a SystemModstamp.
    sim = await startSim({ modstampResolutionMs: 60_000 });
    const ids: string[] = [];
    sim.transaction((tx) => {
      for (let i = 0; i < 45; i++) ids.push(tx.create('Account', { Name: `p${i}` }));
    });
    const cfg = configFor(sim, {
      mode: 'polling',
      objects: [{ name: 'Account' }],
      polling: { intervalMs: 100, pageSize: 10 },
    });
    const got = await collect(cfg, (c) => caughtUp(sim!)(c.changes));
    expect(got.changes).toHaveLength(45);
    expect(new Set(got.changes.map((c) => c.recordId))).toEqual(new Set(ids));
    expect(got.changes.every((c) => c.changeType === 'create')).toBe(true);
    expect(sim.stats.queries.some((q) => /SystemModstamp = \S+ AND Id > '/.test(q))).toBe(true);

    // Updates and a delete in a later minute: new versions, emitted once; the delete via queryAll.
    sim.org.skewClock(60_000);
    sim.transaction((tx) => {
      tx.update('Account', ids[0]!, { Name: 'p0-new' });
      tx.delete('Account', ids[1]!);
    });
    const next = await collect(
      cfg,
      (c) => caughtUp(sim!)([...got.changes, ...c.changes]) && c.changes.length >= 2,
      {
        offsets: got.offsets,
      },
    );
    expect(next.changes.map((c) => [c.recordId, c.changeType])).toEqual(
      expect.arrayContaining([
        [ids[0], 'update'],
        [ids[1], 'delete'],
      ]),
    );
    expect(next.changes).toHaveLength(2);
    expect(next.changes.find((c) => c.recordId === ids[1])!.values).toMatchObject({ IsDeleted: true });
    expect(sim.stats.rest['/services/data/v60.0/queryAll']).toBeGreaterThan(0);
  });

  it('a row committed late with a SystemModstamp behind the cursor is caught by the lookback, once', async () => {
    sim = await startSim({ modstampResolutionMs: 1000 });
    sim.transaction((tx) => tx.create('Account', { Name: 'base' }));
    const cfg = configFor(sim, {
      mode: 'polling',
      objects: [{ name: 'Account' }],
      polling: { intervalMs: 100, lookbackMs: 10_000 },
    });
    const late = sim.begin();
    const lateId = late.create('Account', { Name: 'late' });
    let started = false;
    const got = await collect(cfg, (c) => c.changes.some((x) => x.recordId === lateId), {
      timeoutMs: 20_000,
      onBatch: (c) => {
        if (started || c.changes.length < 1) return;
        started = true;
        // While the poller keeps polling: move its cursor past the late row's stamp with a row committed
        // after it, then commit the late row.
        void (async () => {
          await new Promise((r) => setTimeout(r, 1100));
          sim!.transaction((tx) => tx.create('Account', { Name: 'after' }));
          await new Promise((r) => setTimeout(r, 500));
          late.commit();
        })();
      },
    });
    const lateChange = got.changes.find((c) => c.recordId === lateId)!;
    const after = got.changes.find((c) => c.values.Name === 'after')!;
    // It was written after a row stamped later than it: the cursor had passed it.
    expect(got.changes.indexOf(lateChange)).toBeGreaterThan(got.changes.indexOf(after));
    expect(Date.parse(lateChange.commitTimestamp)).toBeLessThan(Date.parse(after.commitTimestamp));
    expectNoVersionTwice(got.changes);
  });

  it('without a lookback the same late row is lost (the failure mode peers have)', async () => {
    sim = await startSim({ modstampResolutionMs: 1000 });
    sim.transaction((tx) => tx.create('Account', { Name: 'base' }));
    const cfg = configFor(sim, {
      mode: 'polling',
      objects: [{ name: 'Account' }],
      polling: { intervalMs: 100, lookbackMs: 0 },
    });
    const late = sim.begin();
    const lateId = late.create('Account', { Name: 'late' });
    let committedAt = 0;
    let started = false;
    const got = await collect(cfg, () => committedAt > 0 && Date.now() - committedAt > 1500, {
      timeoutMs: 20_000,
      onBatch: (c) => {
        if (started || c.changes.length < 1) return;
        started = true;
        void (async () => {
          await new Promise((r) => setTimeout(r, 1100));
          sim!.transaction((tx) => tx.create('Account', { Name: 'after' }));
          await new Promise((r) => setTimeout(r, 500));
          late.commit();
          committedAt = Date.now();
          sim!.transaction((tx) => tx.create('Account', { Name: 'tick' }));
        })();
      },
    });
    expect(got.changes.some((c) => c.values.Name === 'after')).toBe(true);
    expect(got.changes.some((c) => c.recordId === lateId)).toBe(false);
  });

  it('resumes from its offset: versions already written in the lookback window are not written again', async () => {
    sim = await startSim();
    for (let i = 0; i < 20; i++) sim.transaction((tx) => tx.create('Account', { Name: `r${i}` }));
    const cfg = configFor(sim, {
      mode: 'polling',
      objects: [{ name: 'Account' }],
      polling: { intervalMs: 100, lookbackMs: 60_000 },
    });
    const a = await collect(cfg, (c) => caughtUp(sim!)(c.changes));
    const id = [...sim.org.records('Account').keys()][3]!;
    sim.org.skewClock(2_000);
    sim.transaction((tx) => tx.update('Account', id, { Name: 'changed' }));
    const b = await collect(cfg, (c) => caughtUp(sim!)([...a.changes, ...c.changes]), {
      offsets: a.offsets,
      settleMs: 500,
    });
    expect(b.changes.map((c) => [c.recordId, c.values.Name])).toEqual([[id, 'changed']]);
    expectNoVersionTwice([...a.changes, ...b.changes]);
    const off = b.offsets.get(POLL) as { seen: Record<string, number> };
    expect(Object.keys(off.seen).length).toBe(20);
  });
});
