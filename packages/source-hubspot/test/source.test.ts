// The source in-process against the HubSpot simulator: conformance, the 10,000-result cap, more than
// 10,000 records on one timestamp, deletes, sensitive-property history, late indexing, and each fault
// (429s of every kind, expired tokens, 5xx, malformed objects) on its own.
import { afterEach, describe, expect, it } from 'vitest';
import type { JsonValue } from '@tributary/sdk';
import {
  describeSourceConformance,
  startHubSpotSimulator,
  type HubSpotSimulator,
  type HubSpotSimulatorOptions,
} from '@tributary/testkit';
import { source } from '../src/index.ts';
import type { PollOffset } from '../src/offset.ts';
import { collect, simConfig, versionKey, type Change } from './helpers.ts';

const NO_LIMITS = { searchPerSecond: 0, tenSecondly: 0 };
const T0 = Date.now() - 3_600_000;

let sim: HubSpotSimulator | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

const start = async (o: HubSpotSimulatorOptions = {}) =>
  (sim = await startHubSpotSimulator({ limits: NO_LIMITS, ...o }));

/** (ts, numeric id) order of the changes as emitted. */
function expectPositionOrder(changes: Change[]) {
  const pos = changes.map((c) => [Date.parse(c.commitTimestamp), Number(c.recordId)] as const);
  for (let i = 1; i < pos.length; i++) {
    const [a, b] = [pos[i - 1]!, pos[i]!];
    expect(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `position ${i}: ${a} then ${b}`).toBe(true);
  }
}

/** The version search would show for every live object of a type now: what a poll must deliver. */
const currentVersions = (s: HubSpotSimulator, type = 'contacts') =>
  [...s.store.objects(type).values()]
    .filter((o) => o.archivedAt === null)
    .map((o) => `${o.id}@${o.versions.at(-1)!.ts}`);

describeSourceConformance(source, async () => {
  const s = await startHubSpotSimulator({ limits: NO_LIMITS });
  for (let i = 0; i < 200; i++) s.create('contacts', { email: `c${i}@x.io` }, { at: T0 + i * 10 });
  // A live portal: changes keep coming, so every run has batches to read.
  const writer = setInterval(() => s.create('contacts', { email: 'live@x.io' }), 20);
  return {
    config: simConfig(s, { batchMaxRecords: 20 }),
    invalid: { config: { ...simConfig(s), objects: [] }, path: 'objects' },
    batches: 3,
    deterministicResume: false,
    teardown: async () => {
      clearInterval(writer);
      await s.close();
    },
  };
});

describe('hubspot source: search windows and the 10,000-result cap', () => {
  it('reads 25,000 records in windows under the cap, each once, in (lastmodified, id) order', async () => {
    const s = await start();
    // Groups of three on one timestamp, 10 ms apart.
    for (let i = 0; i < 25_000; i++)
      s.create('contacts', { email: `c${i}@x.io` }, { at: T0 + Math.floor(i / 3) * 10 });
    const got = await collect(simConfig(s), (c) => c.changes.length >= 25_000, { timeoutMs: 120_000 });
    expect(got.changes).toHaveLength(25_000);
    expect(new Set(got.changes.map(versionKey)).size).toBe(25_000);
    expect(new Set(got.changes.map(versionKey))).toEqual(new Set(currentVersions(s)));
    expectPositionOrder(got.changes);
    // HubSpot never refused a request: records are paged by id, `after` only finds a window's edge.
    expect(s.stats.badRequests).toBe(0);
    const withAfter = s.stats.searchBodies.filter((b) => b.after !== undefined);
    expect(withAfter.length).toBeGreaterThan(0);
    for (const b of withAfter) expect(Number(b.after) + (b.limit ?? 10)).toBeLessThanOrEqual(10_000);
    expect(got.changes[0]).toMatchObject({ changeType: 'create', objectType: 'contacts' });
  });

  it('terminates and misses nothing when 12,000 records share one timestamp, and resumes inside them exactly', async () => {
    const s = await start();
    for (let i = 0; i < 50; i++) s.create('contacts', { email: `before${i}@x.io` }, { at: T0 + i });
    const tied = T0 + 60_000;
    s.createMany('contacts', 12_000, { at: tied, props: (i) => ({ email: `bulk${i}@x.io` }) });
    for (let i = 0; i < 50; i++) s.create('contacts', { email: `after${i}@x.io` }, { at: tied + 1 + i });
    const expected = new Set(currentVersions(s));
    expect(expected.size).toBe(12_100);

    // First run: stop somewhere inside the tied timestamp.
    const first = await collect(simConfig(s), (c) => c.changes.length >= 3_050);
    const cut = first.offsets.get('contacts') as PollOffset;
    expect(cut.ts).toBe(tied);
    expect(cut.id).not.toBeNull();
    // Second run from that offset: the rest, nothing twice.
    const rest = await collect(simConfig(s), (c) => first.changes.length + c.changes.length >= 12_100, {
      offsets: new Map([['contacts', cut as unknown as JsonValue]]),
      timeoutMs: 120_000,
    });
    const all = [...first.changes, ...rest.changes];
    expect(all).toHaveLength(12_100);
    expect(new Set(all.map(versionKey))).toEqual(expected);
    expectPositionOrder(all);
    expect(s.stats.badRequests).toBe(0);
  });
});

describe('hubspot source: deletes and property history', () => {
  it('emits each archive once (an object restored and archived again twice), after its versions', async () => {
    const s = await start();
    const ids = Array.from(
      { length: 30 },
      (_, i) => s.create('contacts', { email: `c${i}@x.io` }, { at: T0 + i }).id,
    );
    for (const id of ids.slice(0, 5)) s.archive('contacts', id, { at: T0 + 1_000 });
    // An archived object whose payload is broken: the delete is still certain.
    const broken = s.create(
      'contacts',
      { email: 'x@x.io' },
      { at: T0 + 50, malformed: 'non-string-property' },
    ).id;
    s.archive('contacts', broken, { at: T0 + 1_001 });
    let phase = 0;
    const listCalls = () => s.stats.requests['GET /crm/v3/objects/contacts'] ?? 0;
    let settledAt: number | null = null;
    const got = await collect(
      simConfig(s, { archived: { intervalMs: 50 } }),
      // All 12 deletes in, then three more scans of the archived list that must add nothing.
      (c) => {
        if (settledAt === null && c.changes.filter((x) => x.changeType === 'delete').length >= 13)
          settledAt = listCalls();
        return settledAt !== null && listCalls() >= settledAt + 3;
      },
      {
        onBatch: (c) => {
          // Once the first pass is in, delete more, and restore-then-delete one of the first ones.
          if (phase === 0 && c.changes.length >= 30) {
            phase = 1;
            for (const id of ids.slice(5, 11)) s.archive('contacts', id);
            s.restore('contacts', ids[0]!);
          }
          if (phase === 1 && c.changes.some((x) => x.recordId === ids[0] && x.changeType === 'update')) {
            phase = 2;
            s.archive('contacts', ids[0]!);
          }
        },
      },
    );
    const deletes = got.changes.filter((x) => x.changeType === 'delete');
    expect(deletes.map((d) => d.recordId).sort()).toEqual([...ids.slice(0, 11), ids[0]!, broken].sort());
    const salvaged = deletes.find((d) => d.recordId === broken)!;
    expect(salvaged.header.payloadError).toMatch(/properties\.email/);
    expect(salvaged.values.email).toBeUndefined();
    expect(got.deadLetters).toEqual([]);
    const truth = s.store.allDeletes('contacts').map((d) => `${d.id}@${d.archivedAt}`);
    expect(deletes.map(versionKey).sort()).toEqual(truth.sort());
    // Per record: a delete comes after the versions emitted before it.
    const ofFirst = got.changes.filter((x) => x.recordId === ids[0]).map((x) => x.changeType);
    expect(ofFirst).toEqual(['delete', 'update', 'delete']);
    for (const id of ids.slice(5, 11)) {
      const kinds = got.changes.filter((x) => x.recordId === id).map((x) => x.changeType);
      expect(kinds).toEqual(['create', 'delete']);
    }
  });

  it('gives old and new values of sensitive properties from history, with the actor', async () => {
    const s = await start();
    const c = s.create('contacts', { email: 'old@x.io', wallet: '0xaaa', firstname: 'Ada' }, { at: T0 });
    const steps: (() => void)[] = [
      () => s.update('contacts', c.id, { email: 'new@x.io' }, { actor: { updatedByUserId: 7 } }),
      () =>
        s.update(
          'contacts',
          c.id,
          { wallet: '' },
          { actor: { sourceType: 'INTEGRATION', sourceId: 'app-3' } },
        ),
      () => s.update('contacts', c.id, { firstname: 'Grace' }),
      // Two changes between polls: the poll sees the last state; history still gives the old value.
      () => {
        s.update('contacts', c.id, { email: 'interim@x.io' });
        s.update('contacts', c.id, { email: 'final@x.io', wallet: '0xbbb' });
      },
    ];
    const got = await collect(
      simConfig(s, {
        objects: [{ type: 'contacts', properties: ['firstname'], sensitiveProperties: ['email', 'wallet'] }],
      }),
      (x) => x.changes.length >= 5,
      {
        onBatch: (x) => {
          if (steps.length && x.changes.length === 5 - steps.length) steps.shift()!();
        },
      },
    );
    const [create, email, wallet, name, both] = got.changes;
    expect(create).toMatchObject({ changeType: 'create', values: { email: 'old@x.io', wallet: '0xaaa' } });
    expect(email).toMatchObject({
      changeType: 'update',
      changedFields: ['email'],
      previous: { email: 'old@x.io' },
      values: { email: 'new@x.io', wallet: '0xaaa', firstname: 'Ada' },
      actor: 'user:7',
    });
    expect(wallet).toMatchObject({
      changedFields: ['wallet'],
      previous: { wallet: '0xaaa' },
      nulledFields: ['wallet'],
      actor: 'INTEGRATION:app-3',
    });
    expect(name).toMatchObject({ changeType: 'update', changedFields: [], values: { firstname: 'Grace' } });
    expect(name!.previous).toBeUndefined();
    expect(both).toMatchObject({
      changedFields: ['email', 'wallet'],
      previous: { email: 'interim@x.io', wallet: '' },
      values: { email: 'final@x.io', wallet: '0xbbb' },
    });
  });
});

describe('hubspot source: late indexing (fence and lookback)', () => {
  it('catches versions that become searchable after the first pass, once each', async () => {
    // Index lag of up to 600 ms, but the source only waits 100 ms: the first pass misses some, the
    // lookback pass (1.2 s later) catches them, and nothing is emitted twice.
    let seed = 7;
    const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 600;
    const s = await start({ indexDelayMs: rnd });
    let writing = true;
    const writer = (async () => {
      for (let i = 0; writing; i++) {
        s.create('contacts', { email: `w${i}@x.io` });
        // Some writes commit "late": stamped 300 ms in the past.
        if (i % 5 === 0) s.create('contacts', { email: `late${i}@x.io` }, { at: Date.now() - 300 });
        await new Promise((r) => setTimeout(r, 15));
      }
    })();
    setTimeout(() => (writing = false), 2_500);
    const got = await collect(
      simConfig(s, { settleMs: 100, lookbackMs: 1_200, pollIntervalMs: 30 }),
      (c) => !writing && c.changes.length >= s.store.allVersions('contacts').length,
      { timeoutMs: 30_000 },
    );
    await writer;
    const keys = got.changes.map(versionKey);
    expect(new Set(keys).size).toBe(keys.length);
    expect(new Set(keys)).toEqual(new Set(currentVersions(s)));
    const lookback = got.changes.filter((c) => c.header.source === 'lookback');
    expect(lookback.length).toBeGreaterThan(0);
    const offset = got.offsets.get('contacts') as PollOffset;
    expect(Object.keys(offset.seen).length).toBeLessThan(keys.length);
  });
});

describe('hubspot source: rate limits', () => {
  const seed = (s: HubSpotSimulator, n: number) => {
    for (let i = 0; i < n; i++) s.create('contacts', { email: `c${i}@x.io` }, { at: T0 + i });
  };

  it('paces searches under the per-second limit (no 429 at all)', async () => {
    const s = await start({ limits: { searchPerSecond: 5, tenSecondly: 100 } });
    seed(s, 1_500);
    const got = await collect(
      simConfig(s, { pageSize: 100, rateLimits: { searchPerSecond: 4 }, archived: { intervalMs: 1_000 } }),
      (c) => c.changes.length >= 1_500,
    );
    expect(new Set(got.changes.map(versionKey)).size).toBe(1_500);
    expect(s.stats.searches).toBeGreaterThan(10);
    expect(s.stats.rateLimited).toEqual({});
    // Paced at 4/s on our clock; arrival jitter can squeeze a fifth into the server's window, never more.
    expect(s.stats.peakSearchesPerSecond).toBeLessThanOrEqual(5);
  });

  it('honours 429 SECONDLY when it goes too fast, without a busy retry loop', async () => {
    const s = await start({ limits: { searchPerSecond: 5, tenSecondly: 0, retryAfter: 'alternate' } });
    seed(s, 1_200);
    const got = await collect(
      simConfig(s, { pageSize: 100, rateLimits: { searchPerSecond: 50 } }),
      (c) => c.changes.length >= 1_200,
    );
    expect(new Set(got.changes.map(versionKey)).size).toBe(1_200);
    const limited = s.stats.rateLimited.SECONDLY ?? 0;
    expect(limited).toBeGreaterThan(0);
    // Each 429 pauses every search (Retry-After or a backoff of at least ~1 s): far fewer refusals
    // than successful searches, where a busy loop would pile up thousands.
    expect(limited).toBeLessThan(s.stats.searches);
  });

  it('honours TEN_SECONDLY_ROLLING 429s with and without Retry-After', async () => {
    const s = await start({
      faults: { rateLimitEvery: 4 },
      limits: { ...NO_LIMITS, retryAfter: 'alternate' },
    });
    seed(s, 600);
    const got = await collect(simConfig(s, { pageSize: 50 }), (c) => c.changes.length >= 600);
    expect(new Set(got.changes.map(versionKey)).size).toBe(600);
    expect(got.changes).toHaveLength(600);
    const limited = s.stats.rateLimited.TEN_SECONDLY_ROLLING ?? 0;
    expect(limited).toBeGreaterThan(2);
    expect(s.stats.retryAfterSent).toBeGreaterThan(0);
    expect(s.stats.retryAfterSent).toBeLessThan(limited);
  });

  it('pauses on 429 DAILY for dailyLimitPauseMs instead of retrying at once', async () => {
    const s = await start({ limits: { ...NO_LIMITS, daily: 3 } });
    seed(s, 300);
    setTimeout(() => (s.limits.daily = 0), 1_500);
    const got = await collect(
      simConfig(s, { pageSize: 50, rateLimits: { dailyLimitPauseMs: 400 } }),
      (c) => c.changes.length >= 300,
    );
    expect(new Set(got.changes.map(versionKey)).size).toBe(300);
    const daily = s.stats.rateLimited.DAILY ?? 0;
    expect(daily).toBeGreaterThan(0);
    expect(daily).toBeLessThanOrEqual(6);
  });
});

describe('hubspot source: auth, server errors, malformed objects', () => {
  it('refreshes an expired OAuth access token and loses nothing', async () => {
    const s = await start();
    seed3(s, 1_000);
    const expireAt = new Set([100, 400, 700]);
    const got = await collect(
      simConfig(s, {
        pageSize: 20,
        // Small windows: reads and emits interleave, so the expiries land between reads.
        windowMaxRecords: 100,
        auth: {
          kind: 'oauth',
          clientId: 'sim-client',
          clientSecret: 'sim-secret',
          refreshToken: 'sim-refresh',
        },
      }),
      (c) => c.changes.length >= 1_000,
      {
        onBatch: (c) => {
          for (const n of expireAt)
            if (c.changes.length >= n) {
              expireAt.delete(n);
              s.expireTokens();
            }
        },
      },
    );
    expect(new Set(got.changes.map(versionKey)).size).toBe(1_000);
    expect(got.changes).toHaveLength(1_000);
    expect(s.stats.expiredTokenRejections).toBeGreaterThanOrEqual(3);
    expect(s.stats.tokensIssued).toBeGreaterThanOrEqual(4);
  });

  it('stops with a fatal error when a private app token is refused (it cannot be refreshed)', async () => {
    const s = await start();
    seed3(s, 10);
    const err = await collect(
      simConfig(s, { auth: { kind: 'private-app', accessToken: 'pat-revoked' } }),
      (c) => c.changes.length > 0,
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'FatalError' });
    expect(String((err as Error).message)).toMatch(/private app token/);
    expect(String((err as Error).message)).not.toContain('pat-revoked');
  });

  it('retries 5xx answers (JSON and HTML) and emits every record once', async () => {
    const s = await start({ faults: { serverErrorEvery: 3 } });
    seed3(s, 800);
    const got = await collect(simConfig(s, { pageSize: 50 }), (c) => c.changes.length >= 800);
    expect(got.changes).toHaveLength(800);
    expect(new Set(got.changes.map(versionKey)).size).toBe(800);
    expect(s.stats.serverErrors).toBeGreaterThan(5);
  });

  it('dead-letters malformed objects with their payload, counts them, and goes on', async () => {
    const s = await start({ faults: { malformedRate: 0.1 }, seed: 3 });
    seed3(s, 500);
    const bad = s.store.allVersions('contacts').filter((v) => v.malformed);
    expect(bad.length).toBeGreaterThan(10);
    expect(new Set(bad.map((b) => b.malformed)).size).toBe(3);
    const got = await collect(simConfig(s), (c) => c.changes.length + c.deadLetters.length >= 500);
    expect(got.changes).toHaveLength(500 - bad.length);
    expect(got.deadLetters).toHaveLength(bad.length);
    expect(got.deadLetters.map((d) => d.sourceRef).sort()).toEqual(
      bad.map((b) => `hubspot:contacts:${b.id}@${b.ts}`).sort(),
    );
    expect(got.deadLetters.every((d) => d.reason === 'malformed-object' && d.payload.includes('"id"'))).toBe(
      true,
    );
    expect(got.skipped).toEqual({ 'malformed-object': bad.length });
  });
});

function seed3(s: HubSpotSimulator, n: number) {
  for (let i = 0; i < n; i++) s.create('contacts', { email: `c${i}@x.io` }, { at: T0 + Math.floor(i / 3) });
}

describe('hubspot source: several object types', () => {
  it('polls each type as its own partition with its own last-modified property', async () => {
    const s = await start();
    for (let i = 0; i < 40; i++) s.create('contacts', { email: `c${i}@x.io` }, { at: T0 + i });
    for (let i = 0; i < 30; i++) s.create('deals', { dealname: `d${i}` }, { at: T0 + i });
    const got = await collect(
      simConfig(s, { objects: [{ type: 'contacts' }, { type: 'deals', properties: ['dealname'] }] }),
      (c) => c.changes.length >= 70,
    );
    expect(got.changes.filter((c) => c.objectType === 'deals')).toHaveLength(30);
    expect(got.changes.find((c) => c.objectType === 'deals')!.header.lastModifiedProperty).toBe(
      'hs_lastmodifieddate',
    );
    expect([...got.offsets.keys()].sort()).toEqual(['contacts', 'deals']);
    expect(s.stats.searchBodies.some((b) => JSON.stringify(b).includes('hs_lastmodifieddate'))).toBe(true);
    // Tasks split the types (and the search limit) between them.
    const specs = source.tasks!(
      source.configSchema.parse(simConfig(s, { objects: [{ type: 'contacts' }, { type: 'deals' }] })),
      4,
    );
    expect(specs.map((t) => t.taskId)).toEqual([0, 1]);
  });
});
