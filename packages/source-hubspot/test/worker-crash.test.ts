// Through the real worker CLI against real Kafka: the simulator keeps changing contacts and deals with
// faults on (429s, 5xx, expiring OAuth tokens, malformed objects, late indexing) while the worker is
// SIGKILLed at random moments; then crm.changes, read with read_committed, holds every change exactly once
// in per-record order.
//
// "Every change", for a polling source: every version (id, lastmodified) that was the current state of a
// record while the source was looking, plus every archive. A version replaced before any poll saw it is
// invisible to search (only property history keeps it), so the writer here only changes a record whose
// current version is at least GUARD old: every version stays visible long enough, and then every version
// the simulator ever wrote must be in the topic, once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  crashLoop,
  readTopic,
  spawnWorker,
  startHubSpotSimulator,
  waitForOutput,
  writeConfig,
  type HubSpotSimulator,
  type TopicMessage,
} from '@tributary/testkit';
import { validateRecord } from '@tributary/schemas';

const brokers = inject('kafkaBrokers');
const GUARD_MS = 15_000;
let sim: HubSpotSimulator;

beforeAll(async () => {
  let seed = 11;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  sim = await startHubSpotSimulator({
    objectTypes: ['contacts', 'deals'],
    limits: { searchPerSecond: 20, tenSecondly: 300, retryAfter: 'alternate' },
    faults: { rateLimitEvery: 29, serverErrorEvery: 37, malformedRate: 0.01, expireTokensEveryMs: 4_000 },
    indexDelayMs: () => rnd() * 800,
    seed: 5,
  });
  const t0 = Date.now() - 3_600_000;
  for (let i = 0; i < 1_500; i++)
    sim.create('contacts', { email: `c${i}@x.io`, firstname: `n${i}` }, { at: t0 + Math.floor(i / 4) * 100 });
  // More records on one timestamp than a search window holds: the tie is paged by id.
  sim.createMany('contacts', 1_200, { at: t0 + 600_000, props: (i) => ({ email: `bulk${i}@x.io` }) });
  for (let i = 0; i < 300; i++)
    sim.create('deals', { dealname: `d${i}`, amount: String(i) }, { at: t0 + i * 50 });
});

afterAll(async () => {
  await sim?.close();
});

const values = (ms: TopicMessage[]) => ms.map((m) => JSON.parse(m.value!) as Record<string, unknown>);

/** Changes records whose current version is at least GUARD_MS old (and archives some). */
function startWriter() {
  let tick = 0;
  let running = true;
  // The preloaded backlog counts as visible from now, when the worker starts looking.
  const since = Date.now();
  const pick = (type: string) => {
    const now = Date.now();
    const ok = [...sim.store.objects(type).values()].filter((o) => {
      const v = o.versions.at(-1)!;
      return o.archivedAt === null && now - Math.max(v.ts, v.visibleAt, since) >= GUARD_MS;
    });
    return ok.length ? ok[Math.floor(Math.random() * ok.length)]! : undefined;
  };
  const loop = (async () => {
    while (running) {
      tick++;
      sim.create('contacts', { email: `live${tick}@x.io`, firstname: 'live' });
      if (tick % 4 === 0) sim.create('deals', { dealname: `live${tick}`, amount: '1' });
      for (let k = 0; k < 3; k++) {
        const c = pick('contacts');
        if (c)
          sim.update('contacts', c.id, k % 2 ? { firstname: `f${tick}` } : { email: `e${tick}-${k}@x.io` });
      }
      const d = tick % 3 === 0 ? pick('deals') : undefined;
      if (d) sim.update('deals', d.id, { amount: String(tick) });
      const gone = tick % 8 === 0 ? pick('contacts') : undefined;
      if (gone) sim.archive('contacts', gone.id);
      await new Promise((r) => setTimeout(r, 120));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

describe('hubspot source in the worker (real Kafka, SIGKILLs, faults)', () => {
  it('survives 12 SIGKILLs while records keep changing: every version and every archive exactly once, in per-record order', async () => {
    const id = randomUUID().slice(0, 8);
    const prefix = `h${id}.`;
    const config = {
      kafka: { brokers, transactionalIdPrefix: `h${id}`, transactionTimeoutMs: 30_000 },
      topics: { prefix, offsetsTopic: `h${id}.offsets`, partitions: 3 },
      worker: { http: false },
      connectors: [
        {
          name: `hubspot-${id}`,
          type: 'hubspot',
          batch: { maxRecords: 200, maxMs: 200 },
          config: {
            baseUrl: sim.url,
            auth: {
              kind: 'oauth',
              clientId: 'sim-client',
              clientSecret: 'sim-secret',
              refreshToken: 'sim-refresh',
            },
            objects: [
              { type: 'contacts', properties: ['email', 'firstname'], sensitiveProperties: ['email'] },
              { type: 'deals', properties: ['dealname', 'amount'] },
            ],
            pollIntervalMs: 200,
            settleMs: 500,
            lookbackMs: 1_500,
            pageSize: 100,
            windowMaxRecords: 500,
            batchMaxRecords: 100,
            archived: { intervalMs: 1_000 },
            rateLimits: { searchPerSecond: 16, requestsPerTenSeconds: 250 },
          },
        },
      ],
    };
    const file = writeConfig(config);

    // How long a worker takes to start here and now: kills are timed from the task's start.
    const probe = spawnWorker(file);
    await waitForOutput(probe, /hubspot source starting/, 60_000);
    probe.kill('SIGKILL');
    await probe.exited;

    const writer = startWriter();
    const uptimes = await crashLoop({
      configFile: file,
      kills: 12,
      readyPattern: /hubspot source starting/,
      minUptimeMs: 500,
      maxUptimeMs: 3_500,
    });
    expect(uptimes).toHaveLength(12);
    const midway = await readTopic(brokers, `${prefix}crm.changes`);
    expect(midway.length).toBeGreaterThan(0);

    // A last worker: changes keep coming for a while, then it runs until everything is in.
    const last = spawnWorker(file);
    await new Promise((r) => setTimeout(r, 5_000));
    await writer.stop();

    // The truth: every version and archive the simulator wrote.
    const versions = [...sim.store.allVersions('contacts'), ...sim.store.allVersions('deals')];
    const good = versions.filter((v) => !v.malformed).map((v) => `${v.objectType}:${v.id}@${v.ts}`);
    const malformed = versions
      .filter((v) => v.malformed)
      .map((v) => `hubspot:${v.objectType}:${v.id}@${v.ts}`);
    const deletes = sim.store.allDeletes().map((d) => `${d.objectType}:${d.id}@${d.archivedAt}`);
    expect(deletes.length).toBeGreaterThan(3);
    expect(malformed.length).toBeGreaterThan(5);
    const updates = versions.filter((v) => v.kind === 'update').length;
    expect(updates).toBeGreaterThan(20);

    const deadline = Date.now() + 60_000;
    while ((await readTopic(brokers, `${prefix}crm.changes`)).length < good.length + deletes.length) {
      if (Date.now() > deadline || last.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 2_000));
    }
    last.kill('SIGTERM');
    expect(await last.exited, last.output().slice(-3000)).toBe(0);

    const messages = await readTopic(brokers, `${prefix}crm.changes`);
    const changes = values(messages);
    for (const c of changes) validateRecord('crm.change', c);
    const keyOf = (c: Record<string, unknown>) =>
      `${String(c.objectType)}:${String(c.recordId)}@${Date.parse(String(c.commitTimestamp))}`;
    const gotVersions = changes.filter((c) => c.changeType !== 'delete').map(keyOf);
    const gotDeletes = changes.filter((c) => c.changeType === 'delete').map(keyOf);
    // Exactly once: no duplicates, and precisely the simulator's versions and archives.
    expect(gotVersions.length).toBe(new Set(gotVersions).size);
    expect(gotDeletes.length).toBe(new Set(gotDeletes).size);
    const gotSet = new Set(gotVersions);
    const missing = good.filter((k) => !gotSet.has(k));
    const describeVersion = (k: string) => {
      const [, type, id, ts] = /^(\w+):(\d+)@(\d+)$/.exec(k)!;
      const obj = sim.store.get(type!, id!)!;
      const i = obj.versions.findIndex((v) => v.ts === Number(ts));
      const v = obj.versions[i]!;
      const next = obj.versions[i + 1];
      return `${k} ${v.kind} visibleAfter=${v.visibleAt - v.ts}ms lived=${next ? next.ts - v.ts : 'current'} archived=${obj.archivedAt ?? '-'}`;
    };
    expect(missing.slice(0, 15).map(describeVersion), `${missing.length} versions missing`).toEqual([]);
    expect(new Set(gotVersions)).toEqual(new Set(good));
    expect(new Set(gotDeletes)).toEqual(new Set(deletes));

    // Per record, in topic order: positions strictly increase (an archive follows its versions).
    const byKey = new Map<string, number[]>();
    for (const m of messages) {
      const c = JSON.parse(m.value!) as Record<string, unknown>;
      expect(m.key).toBe(`hubspot:${String(c.objectType)}:${String(c.recordId)}`);
      const list = byKey.get(m.key!) ?? [];
      list.push(Date.parse(String(c.commitTimestamp)));
      byKey.set(m.key!, list);
    }
    for (const [key, times] of byKey)
      for (let i = 1; i < times.length; i++) expect(times[i]!, `${key} #${i}`).toBeGreaterThan(times[i - 1]!);

    // Sensitive email changes carry the old value.
    const emailChanges = changes.filter(
      (c) => c.changeType === 'update' && (c.changedFields as string[]).includes('email'),
    );
    expect(emailChanges.length).toBeGreaterThan(0);
    for (const c of emailChanges) expect((c.previous as Record<string, string>).email).toMatch(/@x\.io$/);

    // Malformed versions: one dead letter each.
    const dls = values(await readTopic(brokers, `${prefix}deadletter`));
    expect(dls.map((d) => d.sourceRef).sort()).toEqual(malformed.sort());

    // Some versions were indexed after the head pass went by: the lookback pass emitted them.
    const lookback = changes.filter((c) => (c.header as { source: string }).source === 'lookback').length;
    expect(lookback).toBeGreaterThan(0);
    console.log(
      `hubspot crash test: ${gotVersions.length} versions (${updates} updates), ${gotDeletes.length} archives, ` +
        `${dls.length} dead letters, ${lookback} from the lookback pass; simulator: ` +
        `${JSON.stringify(sim.stats.rateLimited)} 429s, ${sim.stats.serverErrors} 5xx, ` +
        `${sim.stats.expiredTokenRejections} expired-token 401s`,
    );
    // The faults really happened.
    expect(sim.stats.rateLimited.TEN_SECONDLY_ROLLING ?? 0).toBeGreaterThan(0);
    expect(sim.stats.serverErrors).toBeGreaterThan(0);
    expect(sim.stats.expiredTokenRejections).toBeGreaterThan(0);
  });
});
