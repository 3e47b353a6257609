// Through the real worker CLI against real Kafka: the simulator keeps changing records with faults on
// (dropped connections, lost responses, 403::Unknown client, expiring sessions, 429/503, gap, overflow
// and malformed events) while the worker is SIGKILLed at random moments, during the Bulk snapshot and
// the stream. Read back with read_committed: every snapshot row once, every change once and in per-record
// order, every overflowed change covered by its re-read once, every malformed event dead-lettered once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  crashLoop,
  readTopic,
  salesforceEntityChannel,
  spawnWorker,
  waitForOutput,
  writeConfig,
  type TopicMessage,
} from '@tributary/testkit';
import { validateRecord, type CrmChange, type DeadLetter } from '@tributary/schemas';
import { configFor, startSim, type Sim } from './helpers.ts';

const brokers = inject('kafkaBrokers');
let sim: Sim;
const PREFILL = 200;

beforeAll(async () => {
  sim = await startSim({
    bulkPageSize: 25,
    bulkJobDelayMs: 200,
    overflowThreshold: 8,
    faults: {
      disconnectEveryMs: 2_500,
      dropResponseRate: 0.03,
      unknownClientEveryMs: 3_500,
      rateLimitEvery: 17,
      serverErrorEvery: 23,
      expireTokensEveryMs: 4_500,
      gapRate: 0.04,
      malformedRate: 0.02,
    },
  });
  sim.faults = { ...sim.faults, gapRate: 0, malformedRate: 0 };
  sim.transaction((tx) => {
    for (let i = 0; i < PREFILL; i++) {
      const a = tx.create('Account', { Name: `pre-${i}`, Industry: 'Tech' });
      if (i % 2 === 0) tx.create('Contact', { LastName: `pre-${i}`, AccountId: a });
    }
  });
  sim.faults = { ...sim.faults, gapRate: 0.04, malformedRate: 0.02 };
}, 60_000);

afterAll(async () => {
  await sim?.close();
});

/** A steady mix of creates, updates, deletes and undeletes, now and then an overflowing transaction. */
function startChanges(s: Sim): () => void {
  let n = 0;
  const deleted: string[] = [];
  const pick = (type: 'Account' | 'Contact') => {
    const ids = [...s.org.records(type).values()].filter((r) => !r.IsDeleted).map((r) => r.Id);
    return ids[Math.floor(Math.random() * ids.length)]!;
  };
  const timer = setInterval(() => {
    n++;
    s.transaction((tx) => {
      if (n % 60 === 0) {
        for (let i = 0; i < 11; i++) tx.create('Account', { Name: `bulk-${n}-${i}` });
        return;
      }
      const r = Math.random();
      if (r < 0.3)
        tx.create(n % 2 ? 'Account' : 'Contact', n % 2 ? { Name: `new-${n}` } : { LastName: `new-${n}` });
      else if (r < 0.85)
        tx.update(
          n % 2 ? 'Account' : 'Contact',
          pick(n % 2 ? 'Account' : 'Contact'),
          n % 2 ? { Name: `upd-${n}`, Phone: null } : { Email: `e${n}@x` },
        );
      else if (r < 0.95 || deleted.length === 0) {
        const id = pick('Account');
        tx.delete('Account', id);
        deleted.push(id);
      } else tx.undelete('Account', deleted.shift()!);
    });
  }, 40);
  return () => clearInterval(timer);
}

const parse = <T>(ms: TopicMessage[]) => ms.map((m) => ({ m, v: JSON.parse(m.value!) as T }));

describe('salesforce source in the worker (real Kafka, SIGKILLs, faults)', () => {
  it(
    'survives 12 SIGKILLs during snapshot and stream: every change exactly once, in per-record order',
    { timeout: 420_000 },
    async () => {
      const id = randomUUID().slice(0, 8);
      const prefix = `t${id}.`;
      const file = writeConfig({
        kafka: { brokers, transactionalIdPrefix: `t${id}`, transactionTimeoutMs: 30_000 },
        topics: { prefix, offsetsTopic: `t${id}.offsets`, partitions: 3 },
        worker: { http: false },
        connectors: [
          {
            name: `sf-${id}`,
            type: 'salesforce',
            batch: { maxRecords: 200, maxMs: 300 },
            config: configFor(sim, {
              bulk: { pollIntervalMs: 100, pageSize: 25 },
              streamingRetrySec: 0.3,
              overflowLookbackMs: 5_000,
            }),
          },
        ],
      });

      // How long a worker takes to start here and now: kills are timed relative to it.
      const probe = spawnWorker(file);
      const spawnedAt = Date.now();
      await waitForOutput(probe, /salesforce source starting/, 60_000);
      const startupMs = Math.max(1_500, Date.now() - spawnedAt);
      probe.kill('SIGKILL');
      await probe.exited;

      const stop = startChanges(sim);
      // The first kills land early (mostly in the snapshot), the rest in the stream.
      await crashLoop({ configFile: file, kills: 3, minUptimeMs: startupMs, maxUptimeMs: startupMs + 800 });
      await crashLoop({
        configFile: file,
        kills: 9,
        minUptimeMs: startupMs * 0.8,
        maxUptimeMs: startupMs + 2_500,
      });
      stop();
      sim.faults = { ...sim.faults, disconnectEveryMs: 0, unknownClientEveryMs: 0, dropResponseRate: 0 };

      // The offsets say where the stream was taken (the snapshot's since) per channel. Each channel takes
      // its own when its snapshot starts, and keeps it once committed; a kill before that commit makes the
      // restarted channel take a later one. A change before its channel's since is in the snapshot.
      const offsets = parse<{ offset: { since: number | null } }>(await readTopic(brokers, `t${id}.offsets`));
      const sinceByChannel = new Map<string, number>();
      for (const { m, v } of offsets)
        if (v?.offset?.since) sinceByChannel.set((JSON.parse(m.key!) as [string, string])[1], v.offset.since);
      expect([...sinceByChannel.keys()].sort()).toEqual([
        '/data/AccountChangeEvent',
        '/data/ContactChangeEvent',
      ]);
      const sinceOf = (objectType: string) => sinceByChannel.get(salesforceEntityChannel(objectType))!;

      const want = sim
        .changes()
        .filter(
          (c) =>
            c.replayId !== null &&
            (c.style === 'normal' || c.style === 'gap') &&
            c.commitTimestamp >= sinceOf(c.objectType),
        )
        .map((c) => `${c.recordId}@${c.replayId}`);
      const overflowEvents = sim.org
        .eventsAfter(0)
        .filter(
          (e) =>
            e.commitTimestamp >= sinceByChannel.get(e.channel)! &&
            JSON.stringify(e.payload).includes('GAP_OVERFLOW'),
        );
      // Malformed events at or after the position, and before it those whose timestamp cannot be read.
      const events = new Map(sim.org.eventsAfter(0).map((e) => [e.replayId, e]));
      const unreadable = (replayId: number) => {
        const p = events.get(replayId)!.payload as
          { ChangeEventHeader?: { commitTimestamp?: unknown } } | string;
        return typeof p === 'string' || typeof p.ChangeEventHeader?.commitTimestamp !== 'number';
      };
      const malformed = sim
        .changes()
        .filter(
          (c) =>
            c.style === 'malformed' &&
            (c.commitTimestamp >= sinceOf(c.objectType) || unreadable(c.replayId!)),
        );

      // Run to completion: until every change is in the topic, then stop cleanly.
      const last = spawnWorker(file);
      await waitForOutput(last, /salesforce source starting/, 60_000);
      // On a loaded machine the catch-up can be slow: wait while it makes progress, stop when it stalls.
      let seen = 0;
      let progressAt = Date.now();
      for (;;) {
        const got = new Set(
          parse<CrmChange>(await readTopic(brokers, `${prefix}crm.changes`))
            .filter(({ v }) => v.changeType !== 'snapshot')
            .map(({ v }) => `${v.recordId}@${v.sourcePosition}`),
        );
        if (want.every((w) => got.has(w))) break;
        if (got.size > seen) [seen, progressAt] = [got.size, Date.now()];
        if (Date.now() - progressAt > 45_000) {
          const missing = want.filter((w) => !got.has(w));
          const info = missing.slice(0, 20).map((k) => {
            const c = sim.changes().find((x) => `${x.recordId}@${x.replayId}` === k)!;
            return `${k} ${c.objectType} ${c.kind} ${c.style} +${c.commitTimestamp - sinceOf(c.objectType)}ms`;
          });
          console.log(`stalled; missing ${missing.length}:\n${info.join('\n')}`);
          console.log(last.output().slice(-5000));
          break;
        }
        await new Promise((r) => setTimeout(r, 1_500));
      }
      last.kill('SIGTERM');
      expect(await last.exited).toBe(0);

      const changes = parse<CrmChange>(await readTopic(brokers, `${prefix}crm.changes`));
      for (const { m, v } of changes) {
        validateRecord('crm.change', v);
        expect(m.key).toBe(`salesforce:${v.objectType}:${v.recordId}`);
      }
      // Snapshot: every record that existed before the stream position, once.
      const snap = changes.filter(({ v }) => v.changeType === 'snapshot').map(({ v }) => v.recordId);
      expect(new Set(snap).size).toBe(snap.length);
      expect(snap.length).toBeGreaterThanOrEqual(PREFILL + PREFILL / 2 - 20);

      // Stream: every change with its own event exactly once; re-reads of overflows on top.
      // Rows re-read for an overflow carry its header (and are `gap`, or `delete` for deleted rows).
      const isReread = (v: CrmChange) =>
        (v.header as { changeType?: string } | undefined)?.changeType === 'GAP_OVERFLOW';
      const stream = changes.filter(({ v }) => v.changeType !== 'snapshot' && !isReread(v));
      const streamKeys = stream.map(({ v }) => `${v.recordId}@${v.sourcePosition}`);
      expect(streamKeys.length).toBe(new Set(streamKeys).size);
      expect([...streamKeys].sort()).toEqual([...want].sort());
      expect(want.length).toBeGreaterThan(300);

      // Per record, in Kafka order: the snapshot row first, then changes in replay order.
      const perKey = new Map<string, CrmChange[]>();
      for (const { m, v } of changes) perKey.set(m.key!, [...(perKey.get(m.key!) ?? []), v]);
      for (const [key, seq] of perKey) {
        const positions = seq.filter((v) => v.changeType !== 'snapshot').map((v) => Number(v.sourcePosition));
        // (A re-read row carries its overflow event's position, so it sorts among the changes too.)
        expect(positions, key).toEqual([...positions].sort((a, b) => a - b));
        const snapAt = seq.findIndex((v) => v.changeType === 'snapshot');
        expect(snapAt, key).toBeLessThanOrEqual(0);
      }

      // Overflow: every change past the threshold is covered by its event's re-read, and no row twice.
      const rereads = changes
        .filter(({ v }) => isReread(v))
        .map(({ v }) => `${v.recordId}@${v.sourcePosition}`);
      expect(new Set(rereads).size).toBe(rereads.length);
      for (const e of overflowEvents) {
        const key = (e.payload as { ChangeEventHeader: { transactionKey: string } }).ChangeEventHeader
          .transactionKey;
        const covered = sim.changes().filter((c) => c.style === 'overflow' && c.transactionKey === key);
        expect(covered.length).toBeGreaterThan(0);
        for (const c of covered) expect(rereads).toContain(`${c.recordId}@${e.replayId}`);
      }
      expect(overflowEvents.length).toBeGreaterThan(0);

      // Malformed events: dead-lettered exactly once each.
      const dead = parse<DeadLetter>(await readTopic(brokers, `${prefix}deadletter`)).map(({ v }) => v);
      const refs = dead.map((d) => d.sourceRef);
      expect(new Set(refs).size).toBe(refs.length);
      expect(dead.every((d) => d.reason === 'salesforce-malformed-event')).toBe(true);
      expect(refs.length).toBe(malformed.length);

      console.log(
        `salesforce crash test: ${want.length} changes, ${snap.length} snapshot rows, ${rereads.length} overflow re-reads ` +
          `(${overflowEvents.length} overflows), ${dead.length} dead letters, bulk jobs ${sim.stats.bulk.jobsCreated}, ` +
          `handshakes ${sim.stats.cometd.handshakes}, 401s ${sim.stats.unauthorized + sim.stats.cometd.authFailures}, ` +
          `channels' stream positions ${Math.max(...sinceByChannel.values()) - Math.min(...sinceByChannel.values())} ms apart`,
      );
      // The faults really happened.
      expect(sim.stats.unknownClientResets).toBeGreaterThan(0);
      expect(sim.stats.tokenExpiries).toBeGreaterThan(0);
      expect(sim.stats.rateLimited + sim.stats.serverErrors).toBeGreaterThan(0);
      expect(sim.changes().some((c) => c.style === 'gap' && c.commitTimestamp >= sinceOf(c.objectType))).toBe(
        true,
      );
    },
  );
});
