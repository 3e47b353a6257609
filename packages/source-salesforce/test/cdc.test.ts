// The CDC source in-process against the simulator, through jsforce: snapshot then stream, resume from
// offsets (mid-stream and mid-snapshot), -1/-2 starts, gap and overflow events, malformed events, the
// replay-expired policies (including faye's silent re-subscribe after 403::Unknown client), session
// expiry, and each injected fault on its own; every time every change exactly once.
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonValue } from '@tributary/sdk';
import { validateRecord } from '@tributary/schemas';
import type { SalesforceFaults } from '@tributary/testkit';
import {
  churn,
  collect,
  configFor,
  expectExactlyOnce,
  sinceOf,
  startSim,
  streamKeys,
  type Collected,
  type Sim,
} from './helpers.ts';

let sim: Sim | undefined;
let timer: NodeJS.Timeout | undefined;
afterEach(async () => {
  clearInterval(timer);
  timer = undefined;
  await sim?.close();
  sim = undefined;
});

const ACCOUNT = '/data/AccountChangeEvent';

/** Stream changes the simulator committed at or after `since` (events of their own). */
const wanted = (s: Sim, since: number, objects = ['Account', 'Contact']) =>
  s
    .changes()
    .filter(
      (c) =>
        c.replayId !== null &&
        c.replayId > s.org.purgedUpTo() &&
        (c.style === 'normal' || c.style === 'gap') &&
        c.commitTimestamp >= since &&
        objects.includes(c.objectType),
    ).length;

/** Until: the live changes are all made and every wanted one arrived. */
const allArrived =
  (s: Sim, done: () => boolean, partition = ACCOUNT, objects?: string[]) =>
  (c: Collected) =>
    done() && streamKeys(c.changes).length >= wanted(s, sinceOf(c, partition), objects);

describe('salesforce CDC source', () => {
  it('snapshots with Bulk API 2.0, then streams from the position taken before: every change once, in order', async () => {
    sim = await startSim({ bulkPageSize: 15 });
    // Changes committed well before the stream position: in the snapshot, never in the stream.
    sim.org.skewClock(-10_000);
    churn(sim, 40, 'pre');
    sim.org.skewClock(10_000);
    const doomed = [...sim.org.records('Account').keys()].slice(0, 2);
    sim.transaction((tx) => doomed.forEach((id) => tx.delete('Account', id)));
    let liveDone = false;
    const got = await collect(
      configFor(sim),
      allArrived(sim, () => liveDone),
      {
        onBatch: (c) => {
          if (c.batches.length === 2) {
            churn(sim!, 60, 'live');
            sim!.transaction((tx) => tx.delete('Account', [...sim!.org.records('Account').keys()].at(-1)!));
            liveDone = true;
          }
        },
      },
    );
    const snap = got.changes.filter((c) => c.changeType === 'snapshot');
    for (const c of got.changes) validateRecord('crm.change', c);
    // The snapshot holds every Account that existed before the live changes, deleted ones excluded.
    const snapIds = snap.filter((c) => c.objectType === 'Account').map((c) => c.recordId);
    expect(new Set(snapIds).size).toBe(snapIds.length);
    for (const id of doomed) expect(snapIds).not.toContain(id);
    expect(snapIds.length).toBeGreaterThanOrEqual(sim.org.records('Account').size - 25);
    expect(snap[0]).toMatchObject({ values: { Name: expect.any(String), Industry: 'Tech' } });
    const since = sinceOf(got, ACCOUNT);
    expect(since).toBeGreaterThan(0);
    expectExactlyOnce(sim, got.changes, { since, expect });
    expect(
      got.changes.some((c) => String(c.values.Name).startsWith('pre') && c.changeType !== 'snapshot'),
    ).toBe(false);
    expect(got.changes.some((c) => c.changeType === 'delete')).toBe(true);
    // The snapshot read three pages (15 rows each) of its job.
    expect(sim.stats.bulk.resultPages).toBeGreaterThanOrEqual(3);
    expect(sim.stats.cometd.subscribes.find((s) => s.channel === ACCOUNT)).toMatchObject({
      replayFrom: -2,
      ok: true,
    });
  });

  it('resumes mid-snapshot (job + locator) and mid-stream (replay id) with nothing repeated or lost', async () => {
    sim = await startSim({ bulkPageSize: 10 });
    churn(sim, 60, 'pre');
    const cfg = configFor(sim, {
      objects: [{ name: 'Account' }],
      bulk: { pollIntervalMs: 50, pageSize: 10 },
    });
    // First run stops after two snapshot pages.
    const a = await collect(cfg, (c) => c.changes.length >= 20, { settleMs: 0 });
    const offA = a.offsets.get(ACCOUNT) as { bulk: { jobId: string; locator: string } | null };
    expect(offA.bulk?.locator).toBeTruthy();
    const jobs = sim.stats.bulk.jobsCreated;
    churn(sim, 30, 'mid');
    let liveDone = false;
    const b = await collect(
      cfg,
      allArrived(sim, () => liveDone, ACCOUNT, ['Account']),
      {
        offsets: a.offsets,
        onBatch: () => {
          if (!liveDone) {
            churn(sim!, 30, 'late');
            liveDone = true;
          }
        },
      },
    );
    // The second run continued the same job from its locator.
    expect(sim.stats.bulk.jobsCreated).toBe(jobs);
    const snap = [...a.changes, ...b.changes]
      .filter((c) => c.changeType === 'snapshot')
      .map((c) => c.recordId);
    expect(new Set(snap).size).toBe(snap.length);
    const since = sinceOf(a, ACCOUNT);
    // Stop the stream mid-way and resume from its replay id.
    const cut = Math.floor(streamKeys(b.changes).length / 2);
    const cutBatch = b.batches.findIndex(
      (_, i) =>
        streamKeys(b.batches.slice(0, i + 1).flatMap((x) => x.records.map((r) => r.value as never))).length >=
        cut,
    );
    const offsets = new Map<string, JsonValue>([[ACCOUNT, b.batches[cutBatch]!.offset]]);
    const firstPart = b.batches.slice(0, cutBatch + 1).flatMap((x) => x.records.map((r) => r.value as never));
    const c = await collect(
      cfg,
      (x) => streamKeys([...firstPart, ...x.changes]).length >= wanted(sim!, since, ['Account']),
      {
        offsets,
      },
    );
    expectExactlyOnce(sim, [...firstPart, ...c.changes], { since, objects: ['Account'], expect });
    expect(sim.stats.cometd.subscribes.at(-1)).toMatchObject({
      replayFrom: (b.batches[cutBatch]!.offset as { replayId: number }).replayId,
      ok: true,
    });
  });

  it('a snapshot job whose results expired before the resume is read again with a new job', async () => {
    sim = await startSim({ bulkPageSize: 10 });
    churn(sim, 30, 'pre');
    const cfg = configFor(sim, {
      objects: [{ name: 'Account' }],
      bulk: { pollIntervalMs: 50, pageSize: 10 },
    });
    const a = await collect(cfg, (c) => c.changes.length >= 10, { settleMs: 0 });
    expect((a.offsets.get(ACCOUNT) as { bulk: { locator: string } | null }).bulk?.locator).toBeTruthy();
    sim.expireBulkJobs();
    const accounts = sim.org.records('Account').size;
    const b = await collect(
      cfg,
      (c) => c.changes.filter((x) => x.changeType === 'snapshot').length >= accounts,
      {
        offsets: a.offsets,
      },
    );
    expect(sim.stats.bulk.jobsCreated).toBe(2);
    // Every Account is in the new job's rows; those of the first pages come twice (states, not changes).
    const second = new Set(b.changes.filter((c) => c.changeType === 'snapshot').map((c) => c.recordId));
    expect(second.size).toBe(accounts);
  });

  it('start -2 replays every retained event; start -1 only new ones, durably from the start time', async () => {
    sim = await startSim();
    churn(sim, 20, 'old');
    const all = await collect(
      configFor(sim, { start: -2, objects: [{ name: 'Account' }] }),
      (c) => c.changes.length >= 20,
    );
    expectExactlyOnce(sim, all.changes, { objects: ['Account'], expect });
    expect(all.changes.some((c) => c.changeType === 'snapshot')).toBe(false);

    let made = false;
    const fresh = await collect(
      configFor(sim, { start: -1, objects: [{ name: 'Account' }] }),
      (c) => made && c.changes.length >= 10,
      {
        onBatch: async (c) => {
          if (made) return;
          // The first batch carries the start position (no records) before anything streams.
          expect(c.batches[0]!.records).toHaveLength(0);
          expect(c.batches[0]!.offset).toMatchObject({ replayId: null, since: expect.any(Number) });
          await new Promise((r) => setTimeout(r, 300));
          churn(sim!, 10, 'new');
          made = true;
        },
      },
    );
    expect(fresh.changes.every((c) => (c.values as { Name?: string }).Name?.startsWith('new') ?? true)).toBe(
      true,
    );
    expect(fresh.changes).toHaveLength(10);
    expect(sim.stats.cometd.subscribes.at(-1)).toMatchObject({ replayFrom: -1 });
    // Restarting from that position before any event was committed replays from it (-2 + since). The
    // position is the server's Date header (whole seconds) less a second, so events committed in that
    // slack before the start come too; nothing after it is missed.
    const since = (fresh.batches[0]!.offset as { since: number }).since;
    const again = await collect(
      configFor(sim, { start: -1, objects: [{ name: 'Account' }] }),
      (c) => c.changes.length >= wanted(sim!, since, ['Account']),
      { offsets: new Map([[ACCOUNT, fresh.batches[0]!.offset]]) },
    );
    expect(streamKeys(again.changes)).toEqual(expect.arrayContaining(streamKeys(fresh.changes)));
    expectExactlyOnce(sim, again.changes, { since, objects: ['Account'], expect });
    expect(sim.stats.cometd.subscribes.at(-1)).toMatchObject({ replayFrom: -2 });
  });

  it('gap events: the records are fetched by id and emitted with the change type the gap stands for', async () => {
    sim = await startSim();
    const ids: string[] = [];
    sim.transaction((tx) =>
      ids.push(tx.create('Account', { Name: 'g1' }), tx.create('Account', { Name: 'g2' })),
    );
    sim.transaction((tx) => tx.update('Account', ids[0]!, { Name: 'g1-new', Phone: '555' }), { gap: true });
    sim.transaction((tx) => tx.delete('Account', ids[1]!), { gap: true });
    sim.transaction((tx) => ids.push(tx.create('Account', { Name: 'g3' })), { gap: true });
    const got = await collect(
      configFor(sim, { start: -2, objects: [{ name: 'Account' }] }),
      (c) => c.changes.length >= 5,
    );
    expectExactlyOnce(sim, got.changes, { objects: ['Account'], expect });
    const byPos = got.changes.slice(2);
    expect(byPos.map((c) => c.changeType)).toEqual(['update', 'delete', 'create']);
    expect(byPos[0]).toMatchObject({
      recordId: ids[0],
      values: { Name: 'g1-new', Phone: '555', IsDeleted: false },
    });
    expect(byPos[0]!.header).toMatchObject({ changeType: 'GAP_UPDATE', recordIds: [ids[0]] });
    expect(byPos[1]).toMatchObject({ recordId: ids[1], values: { IsDeleted: true } });
    expect(byPos[2]).toMatchObject({ recordId: ids[2], values: { Name: 'g3' } });
    expect(sim.stats.queries.some((q) => q.includes(`WHERE Id IN ('${ids[0]}')`))).toBe(true);
  });

  it('GAP_OVERFLOW: the object is re-read (Bulk, queryAll) for the window, each row once, then the stream goes on', async () => {
    sim = await startSim({ overflowThreshold: 5 });
    const big = sim.transaction((tx) => {
      for (let i = 0; i < 12; i++) tx.create('Account', { Name: `o${i}` });
    });
    sim.transaction((tx) => tx.update('Account', big[0]!.recordId, { Name: 'after' }));
    const overflowEvent = sim.org
      .eventsAfter(0)
      .find((e) => JSON.stringify(e.payload).includes('GAP_OVERFLOW'))!;
    expect(overflowEvent).toBeDefined();
    const got = await collect(configFor(sim, { start: -2, objects: [{ name: 'Account' }] }), (c) =>
      c.changes.some((x) => x.values.Name === 'after'),
    );
    const normal = got.changes.filter((c) => c.changeType === 'create');
    expect(normal).toHaveLength(5);
    const reread = got.changes.filter((c) => c.changeType === 'gap');
    expect(reread.every((c) => c.sourcePosition === String(overflowEvent.replayId))).toBe(true);
    // Every record beyond the threshold is covered by the re-read, once.
    const overflowed = big.filter((c) => c.style === 'overflow').map((c) => c.recordId);
    expect(overflowed).toHaveLength(7);
    const rereadIds = reread.map((c) => c.recordId);
    expect(new Set(rereadIds).size).toBe(rereadIds.length);
    for (const id of overflowed) expect(rereadIds).toContain(id);
    expect(reread[0]!.header).toMatchObject({ changeType: 'GAP_OVERFLOW', recordIds: [] });
    expect(got.changes.at(-1)).toMatchObject({ changeType: 'update', values: { Name: 'after' } });
    expect(got.offsets.get(ACCOUNT)).toMatchObject({ bulk: null });
    expect(sim.stats.bulk.jobsCreated).toBe(1);
  });

  it('malformed events are dead-lettered with a reason and counted; the stream goes on', async () => {
    sim = await startSim();
    churn(sim, 10, 'a');
    sim.transaction((tx) => tx.create('Account', { Name: 'bad' }), { malformed: true });
    sim.transaction((tx) => tx.create('Account', { Name: 'bad2' }), { malformed: true });
    churn(sim, 10, 'b');
    const got = await collect(
      configFor(sim, { start: -2, objects: [{ name: 'Account' }] }),
      (c) => c.changes.length >= 20,
    );
    expectExactlyOnce(sim, got.changes, { objects: ['Account'], expect });
    expect(got.deadLetters).toHaveLength(2);
    for (const d of got.deadLetters) {
      expect(validateRecord('dead-letter', d)).toMatchObject({
        reason: 'salesforce-malformed-event',
        connector: 'sf-test',
      });
      expect(d.sourceRef).toMatch(/^\/data\/AccountChangeEvent@\d+$/);
    }
    expect(got.skipped).toEqual(['salesforce-malformed-event', 'salesforce-malformed-event']);
    // The offset moved past the malformed events too.
    const malformedIds = sim
      .changes()
      .filter((c) => c.style === 'malformed')
      .map((c) => c.replayId!);
    expect((got.offsets.get(ACCOUNT) as { replayId: number }).replayId).toBeGreaterThan(
      Math.max(...malformedIds),
    );
  });

  it('replay id older than retention, policy resnapshot: alert, new snapshot, stream from before it', async () => {
    sim = await startSim();
    churn(sim, 10, 'a');
    const cfg = configFor(sim, { start: -2, objects: [{ name: 'Account' }] });
    const first = await collect(cfg, (c) => c.changes.length >= 10);
    churn(sim, 10, 'lost');
    sim.purgeEvents();
    let liveDone = false;
    const got = await collect(
      cfg,
      allArrived(sim, () => liveDone, ACCOUNT, ['Account']),
      {
        offsets: first.offsets,
        onBatch: (c) => {
          if (!liveDone && c.changes.some((x) => x.changeType === 'snapshot')) {
            churn(sim!, 10, 'after');
            liveDone = true;
          }
        },
      },
    );
    expect(got.alerts).toHaveLength(1);
    expect(validateRecord('alert', got.alerts[0])).toMatchObject({
      ruleId: 'salesforce.replay-expired',
      details: {
        policy: 'resnapshot',
        replayId: (first.offsets.get(ACCOUNT) as { replayId: number }).replayId,
      },
    });
    expect(String(got.alerts[0]!.details.serverError)).toContain('you provided was invalid');
    // The snapshot has every Account, including those whose events were purged.
    const snap = got.changes.filter((c) => c.changeType === 'snapshot');
    expect(snap.map((c) => c.values.Name)).toEqual(expect.arrayContaining(['lost-9']));
    expectExactlyOnce(sim, got.changes, { since: sinceOf(got, ACCOUNT), objects: ['Account'], expect });
    expect(got.batches[0]!.records[0]!.topic).toBe('alerts');
  });

  it('replay id older than retention, policy fail: alert, then the task stops with a fatal error', async () => {
    sim = await startSim();
    churn(sim, 5, 'a');
    const cfg = configFor(sim, { start: -2, objects: [{ name: 'Account' }], replayExpired: 'fail' });
    const first = await collect(cfg, (c) => c.changes.length >= 5);
    churn(sim, 3, 'lost');
    sim.purgeEvents();
    churn(sim, 2, 'later');
    const seen: Collected[] = [];
    await expect(
      collect(cfg, () => false, {
        offsets: first.offsets,
        timeoutMs: 10_000,
        onBatch: (c) => void seen.push(c),
      }),
    ).rejects.toMatchObject({ name: 'FatalError' });
    expect(seen[0]!.alerts).toHaveLength(1);
    expect(seen[0]!.alerts[0]).toMatchObject({
      ruleId: 'salesforce.replay-expired',
      details: { policy: 'fail' },
    });
    expect(seen[0]!.changes).toHaveLength(0);
  });

  it('403::Unknown client, re-handshake with a purged replay id: detected (jsforce stays silent), alert, resnapshot', async () => {
    sim = await startSim();
    churn(sim, 5, 'a');
    const cfg = configFor(sim, { start: -2, objects: [{ name: 'Account' }] });
    let tripped = false;
    let liveDone = false;
    const got = await collect(
      cfg,
      (c) => liveDone && c.changes.filter((x) => String(x.values.Name).startsWith('after')).length >= 5,
      {
        timeoutMs: 20_000,
        onBatch: async (c) => {
          if (!tripped && c.changes.length >= 5) {
            tripped = true;
            // In one tick: events the client has not received yet, retention purging them, the server
            // forgetting the client. Faye re-handshakes and re-subscribes from the last id it received.
            churn(sim!, 5, 'unseen');
            sim!.purgeEvents();
            sim!.forgetClients();
          }
          if (tripped && !liveDone && c.changes.some((x) => x.changeType === 'snapshot')) {
            await new Promise((r) => setTimeout(r, 200));
            churn(sim!, 5, 'after');
            liveDone = true;
          }
        },
      },
    );
    const refused = sim.stats.cometd.subscribes.filter((s) => !s.ok);
    expect(refused).toHaveLength(1);
    expect(refused[0]!.error).toContain('you provided was invalid');
    expect(sim.stats.cometd.handshakes).toBeGreaterThanOrEqual(2);
    expect(got.alerts).toHaveLength(1);
    const snap = got.changes.filter((c) => c.changeType === 'snapshot').map((c) => c.values.Name);
    expect(snap).toEqual(expect.arrayContaining(['unseen-0', 'unseen-4']));
    // Never silently switched to -1: the subscriptions were -2 (start), the refused id, -2 (after snapshot).
    expect(sim.stats.cometd.subscribes.map((s) => s.replayFrom).filter((r) => r === -1)).toEqual([]);
  });

  it('an expired session (REST 401 and CometD 401::Authentication invalid) re-authenticates without losing position', async () => {
    sim = await startSim();
    churn(sim, 10, 'init');
    let made = 10;
    const got = await collect(
      configFor(sim, { start: -2, objects: [{ name: 'Account' }] }),
      (c) => made >= 60 && streamKeys(c.changes).length >= wanted(sim!, 0, ['Account']),
      {
        timeoutMs: 20_000,
        onBatch: () => {
          if (made >= 60) return;
          churn(sim!, 10, `m${made}`);
          made += 10;
          if (made % 20 === 0) sim!.expireTokens();
          if (made === 30)
            sim!.transaction(
              (tx) => tx.update('Account', [...sim!.org.records('Account').keys()][0]!, { Name: 'gap' }),
              {
                gap: true,
              },
            );
        },
      },
    );
    expectExactlyOnce(sim, got.changes, { objects: ['Account'], expect });
    expect(sim.stats.cometd.authFailures).toBeGreaterThan(0);
    expect(sim.stats.tokensIssued['jwt-bearer']).toBeGreaterThan(1);
  });

  const faults: [string, Partial<SalesforceFaults>, (s: Sim) => number][] = [
    ['dropped long-poll connections', { disconnectEveryMs: 300 }, (s) => s.stats.disconnects],
    ['connect responses lost in flight', { dropResponseRate: 0.2 }, (s) => s.stats.cometd.droppedResponses],
    ['403::Unknown client', { unknownClientEveryMs: 400 }, (s) => s.stats.unknownClientResets],
    ['CometD 503s', { cometdErrorEvery: 4 }, (s) => s.stats.cometdErrors],
    [
      'REST 429s and 503s',
      { rateLimitEvery: 4, serverErrorEvery: 7, gapRate: 0.1 },
      (s) => s.stats.rateLimited + s.stats.serverErrors,
    ],
    ['expiring tokens', { expireTokensEveryMs: 500 }, (s) => s.stats.tokenExpiries],
  ];
  for (const [name, f, count] of faults) {
    it(`every change exactly once, in order, under ${name}`, async () => {
      sim = await startSim({ faults: f });
      let made = 0;
      timer = setInterval(() => {
        if (made >= 150) return;
        churn(sim!, 5, `f${made}`);
        made += 5;
      }, 40);
      const got = await collect(
        configFor(sim, { start: -2, objects: [{ name: 'Account' }] }),
        (c) => made >= 150 && streamKeys(c.changes).length >= wanted(sim!, 0, ['Account']),
        { timeoutMs: 45_000, settleMs: 500 },
      );
      expectExactlyOnce(sim, got.changes, { objects: ['Account'], expect });
      expect(count(sim)).toBeGreaterThan(0);
    });
  }

  it('a backlog faster than the consumer is held back at the server (bounded queue), nothing lost', async () => {
    sim = await startSim({ maxEventsPerConnect: 100 });
    churn(sim, 3000, 'backlog');
    const cfg = configFor(sim, {
      start: -2,
      objects: [{ name: 'Account' }],
      maxBatchEvents: 50,
      maxQueuedEvents: 300,
    });
    const got = await collect(cfg, (c) => c.changes.length >= 3000, {
      timeoutMs: 60_000,
      // A slow consumer: 60 batches a second at most.
      onBatch: () => new Promise((r) => setTimeout(r, 15)),
    });
    expectExactlyOnce(sim, got.changes, { objects: ['Account'], expect });
    // The queue never held much more than the limit plus one server response.
    expect(got.maxLag).toBeLessThanOrEqual(300 + 100);
    expect(got.maxLag).toBeGreaterThan(100);
  });

  it('/data/ChangeEvents carries several objects on one partition', async () => {
    sim = await startSim();
    for (let i = 0; i < 10; i++)
      sim.transaction((tx) => {
        const a = tx.create('Account', { Name: `x${i}` });
        tx.create('Contact', { LastName: `y${i}`, AccountId: a });
      });
    const got = await collect(
      configFor(sim, { start: -2, channels: ['/data/ChangeEvents'] }),
      (c) => c.changes.length >= 20,
    );
    expectExactlyOnce(sim, got.changes, { expect });
    expect([...got.offsets.keys()]).toEqual(['/data/ChangeEvents']);
    expect(got.changes[1]).toMatchObject({ objectType: 'Contact', header: { sequenceNumber: 2 } });
    expect(got.changes[0]!.transactionKey).toBe(got.changes[1]!.transactionKey);
  });

  it('a snapshot on /data/ChangeEvents reads each of its objects in turn, then the stream', async () => {
    sim = await startSim({ bulkPageSize: 7 });
    sim.org.skewClock(-10_000);
    for (let i = 0; i < 12; i++)
      sim.transaction((tx) =>
        tx.create('Contact', { LastName: `c${i}`, AccountId: tx.create('Account', { Name: `a${i}` }) }),
      );
    sim.org.skewClock(10_000);
    let live = false;
    const got = await collect(
      configFor(sim, { channels: ['/data/ChangeEvents'], bulk: { pollIntervalMs: 50, pageSize: 7 } }),
      (c) => live && streamKeys(c.changes).length >= 4,
      {
        onBatch: (c) => {
          if (live || c.changes.filter((x) => x.changeType === 'snapshot').length < 24) return;
          sim!.transaction((tx) =>
            tx.create('Contact', { LastName: 'late', AccountId: tx.create('Account', { Name: 'late' }) }),
          );
          sim!.transaction((tx) =>
            tx.create('Contact', { LastName: 'late2', AccountId: tx.create('Account', { Name: 'late2' }) }),
          );
          live = true;
        },
      },
    );
    const snap = got.changes.filter((c) => c.changeType === 'snapshot');
    expect(snap.map((c) => c.objectType)).toEqual([
      ...Array(12).fill('Account'),
      ...Array(12).fill('Contact'),
    ]);
    expect(sim.stats.bulk.jobsCreated).toBe(2);
    expectExactlyOnce(sim, got.changes, { since: sinceOf(got, '/data/ChangeEvents'), expect });
    expect(streamKeys(got.changes)).toHaveLength(4);
  });

  it('authenticates with client credentials and with username-password too', async () => {
    sim = await startSim();
    churn(sim, 3, 'a');
    const base = configFor(sim, { start: -2, objects: [{ name: 'Account' }] });
    const cc = await collect(
      {
        ...base,
        auth: { type: 'client-credentials', clientId: sim.app.clientId, clientSecret: sim.app.clientSecret },
      },
      (c) => c.changes.length >= 3,
    );
    const u = sim.users[0]!;
    const pw = await collect(
      {
        ...base,
        auth: {
          type: 'password',
          clientId: sim.app.clientId,
          clientSecret: sim.app.clientSecret,
          username: u.username,
          password: u.password,
          securityToken: u.securityToken!,
        },
      },
      (c) => c.changes.length >= 3,
    );
    expect(cc.changes).toHaveLength(3);
    expect(pw.changes).toHaveLength(3);
    expect(sim.stats.tokensIssued).toMatchObject({ 'client-credentials': 1, password: 1 });
    await expect(
      collect(
        { ...base, auth: { type: 'client-credentials', clientId: sim.app.clientId, clientSecret: 'wrong' } },
        () => false,
      ),
    ).rejects.toMatchObject({ name: 'FatalError' });
  });
});
