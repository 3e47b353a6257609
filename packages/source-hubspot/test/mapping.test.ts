// Pure mapping and bookkeeping: wire validation, property history -> old/new values, normalized records,
// webhook events, the offset's lookback bookkeeping, and the v3 signature check.
import { describe, expect, it } from 'vitest';
import { validateRecord } from '@tributary/schemas';
import { hubSpotSignatureV3 } from '@tributary/testkit';
import {
  deleteRecord,
  recordKey,
  sensitiveChanges,
  verifySignatureV3,
  versionRecord,
  webhookRecord,
} from '../src/index.ts';
import {
  advanceSettled,
  capSeen,
  comparePos,
  initialOffset,
  seenCount,
  seenSet,
  settleTo,
  withSeen,
  type PollOffset,
} from '../src/offset.ts';
import { parseHistories, parseObject, parseTime, type HistoryEntry, type WireObject } from '../src/wire.ts';

const T = Date.parse('2026-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const entry = (value: string, timestamp: number, extra: Partial<HistoryEntry> = {}): HistoryEntry => ({
  value,
  timestamp,
  sourceType: 'CRM_UI',
  sourceId: null,
  updatedByUserId: null,
  ...extra,
});

const wire = (over: Partial<WireObject> = {}): WireObject => ({
  id: '501',
  ts: T,
  createdAt: T - 60_000,
  updatedAt: T,
  archivedAt: null,
  properties: { email: 'new@x.io', firstname: 'Ada', lastmodifieddate: iso(T), hs_object_id: '501' },
  ...over,
});

describe('wire validation', () => {
  it('parses HubSpot datetimes (ISO and epoch ms) and refuses anything else', () => {
    expect(parseTime('2026-03-01T10:00:00.000Z')).toBe(T);
    expect(parseTime(String(T))).toBe(T);
    expect(parseTime('yesterday')).toBeNaN();
    expect(parseTime(undefined)).toBeNaN();
  });

  it('places a good object by its last-modified property', () => {
    const raw = {
      id: '7',
      properties: { lastmodifieddate: iso(T), email: 'a@b.c', phone: null },
      createdAt: iso(T - 5),
      updatedAt: iso(T),
      archived: false,
    };
    const p = parseObject(raw, 'lastmodifieddate', 'modified');
    expect(p).toEqual({
      kind: 'ok',
      object: {
        id: '7',
        ts: T,
        createdAt: T - 5,
        updatedAt: T,
        archivedAt: null,
        properties: { lastmodifieddate: iso(T), email: 'a@b.c', phone: null },
      },
    });
  });

  it('marks broken objects malformed at their position, naming the field', () => {
    const base = { id: '8', createdAt: iso(T - 5), updatedAt: iso(T), archived: false };
    const nonString = parseObject(
      { ...base, properties: { lastmodifieddate: iso(T), email: { x: 1 } } },
      'lastmodifieddate',
      'modified',
    );
    expect(nonString).toMatchObject({ kind: 'malformed', id: '8', ts: T });
    expect(nonString.kind === 'malformed' && nonString.error).toMatch(/properties\.email/);
    const badDate = parseObject(
      { ...base, createdAt: 'not-a-date', properties: { lastmodifieddate: iso(T) } },
      'lastmodifieddate',
      'modified',
    );
    expect(badDate).toMatchObject({ kind: 'malformed', ts: T });
    // Without properties the position falls back to updatedAt (the same instant).
    expect(parseObject(base, 'lastmodifieddate', 'modified')).toMatchObject({ kind: 'malformed', ts: T });
    expect(parseObject({ properties: {} }, 'lastmodifieddate', 'modified')).toMatchObject({
      kind: 'unplaceable',
      id: null,
    });
  });

  it('reads property history newest first', () => {
    const h = parseHistories({
      results: [
        {
          id: '1',
          propertiesWithHistory: {
            email: [
              { value: 'a', timestamp: iso(T - 10), sourceType: 'API' },
              { value: 'b', timestamp: iso(T), sourceType: 'CRM_UI', updatedByUserId: 42 },
              { value: 'broken', timestamp: 'never' },
            ],
          },
        },
      ],
    });
    expect(h.get('1')!.email!.map((e) => e.value)).toEqual(['b', 'a']);
    expect(h.get('1')!.email![0]!.updatedByUserId).toBe(42);
  });
});

describe('sensitive property changes from history', () => {
  const history = {
    email: [
      entry('third@x.io', T + 5_000),
      entry('new@x.io', T, { updatedByUserId: 77 }),
      entry('old@x.io', T - 9_000),
    ],
    phone: [entry('+1', T - 20_000)],
    wallet: [entry('', T, { sourceType: 'INTEGRATION', sourceId: 'app-9' }), entry('0xabc', T - 1)],
  };

  it('matches entries to the version by time, even when history was read after newer changes', () => {
    const s = sensitiveChanges(T, ['email', 'phone', 'wallet'], history);
    expect(s.changed).toEqual(['email', 'wallet']);
    expect(s.previous).toEqual({ email: 'old@x.io', wallet: '0xabc' });
    expect(s.actor).toBe('user:77');
  });

  it('reports the first value of a property with no old value', () => {
    expect(sensitiveChanges(T - 9_000, ['email'], history)).toEqual({
      changed: ['email'],
      previous: { email: null },
      actor: 'CRM_UI',
    });
    expect(sensitiveChanges(T + 1, ['email'], history).changed).toEqual([]);
  });
});

describe('normalized records', () => {
  it('an update: key, changed sensitive fields with old and new values, nulled fields, actor', () => {
    const o = wire({
      properties: { email: 'new@x.io', wallet: '', lastmodifieddate: iso(T), hs_object_id: '501' },
    });
    const rec = versionRecord({
      objectType: 'contacts',
      lastModified: 'lastmodifieddate',
      object: o,
      sensitive: ['email', 'wallet'],
      history: {
        email: [
          entry('new@x.io', T, { sourceType: 'INTEGRATION', sourceId: 'app-9' }),
          entry('old@x.io', T - 9),
        ],
        wallet: [entry('', T), entry('0xabc', T - 9)],
      },
      pass: 'search',
    });
    expect(rec.topic).toBe('crm.changes');
    expect(rec.key).toBe('hubspot:contacts:501');
    expect(rec.key).toBe(recordKey('contacts', '501'));
    expect(rec.timestamp).toBe(T);
    expect(rec.headers).toEqual({ 'tributary.record.type': 'crm.change', 'tributary.schema.version': '1' });
    const v = validateRecord('crm.change', rec.value);
    expect(v).toMatchObject({
      system: 'hubspot',
      objectType: 'contacts',
      recordId: '501',
      changeType: 'update',
      changedFields: ['email', 'wallet'],
      previous: { email: 'old@x.io', wallet: '0xabc' },
      nulledFields: ['wallet'],
      actor: 'INTEGRATION:app-9',
      commitTimestamp: iso(T),
      sourcePosition: `search:contacts:${T}:501`,
    });
    expect(v.values.email).toBe('new@x.io');
    expect(v.header).toMatchObject({ source: 'search', changedFieldsFrom: 'sensitive-property-history' });
  });

  it('a create lists every set property and no old values', () => {
    const o = wire({
      createdAt: T,
      properties: { email: 'a@x.io', firstname: null, lastmodifieddate: iso(T) },
    });
    const v = validateRecord(
      'crm.change',
      versionRecord({
        objectType: 'contacts',
        lastModified: 'lastmodifieddate',
        object: o,
        sensitive: ['email'],
        history: {},
        pass: 'lookback',
      }).value,
    );
    expect(v.changeType).toBe('create');
    expect(v.changedFields).toEqual(['email', 'lastmodifieddate']);
    expect(v.previous).toBeUndefined();
    expect(v.header).toMatchObject({ source: 'lookback', changedFieldsFrom: 'create' });
  });

  it('an update whose history could not be read says so', () => {
    const v = validateRecord(
      'crm.change',
      versionRecord({
        objectType: 'deals',
        lastModified: 'hs_lastmodifieddate',
        object: wire({ properties: { hs_updated_by_user_id: '12' } }),
        sensitive: ['amount'],
        history: undefined,
        pass: 'search',
      }).value,
    );
    expect(v).toMatchObject({ changedFields: [], actor: 'user:12', header: { historyUnavailable: true } });
  });

  it('a delete from the archived list', () => {
    const rec = deleteRecord('companies', wire({ id: '9', archivedAt: T + 1, ts: T + 1 }));
    const v = validateRecord('crm.change', rec.value);
    expect(rec.key).toBe('hubspot:companies:9');
    expect(v).toMatchObject({
      changeType: 'delete',
      commitTimestamp: iso(T + 1),
      header: { source: 'archived-list' },
    });
  });

  it('webhook events by subscription type', () => {
    const base = {
      eventId: 11,
      subscriptionId: 3,
      portalId: 1,
      occurredAt: T,
      objectId: 501,
      changeSource: 'CRM',
    };
    const change = webhookRecord({
      ...base,
      subscriptionType: 'contact.propertyChange',
      propertyName: 'email',
      propertyValue: 'z@x.io',
    })!;
    expect(change.key).toBe('hubspot:contacts:501');
    expect(validateRecord('crm.change', change.value)).toMatchObject({
      changeType: 'update',
      changedFields: ['email'],
      values: { email: 'z@x.io' },
      sourcePosition: 'webhook:3:11',
      header: { source: 'webhook', eventId: 11 },
    });
    expect(
      validateRecord('crm.change', webhookRecord({ ...base, subscriptionType: 'deal.deletion' })!.value),
    ).toMatchObject({
      objectType: 'deals',
      changeType: 'delete',
    });
    expect(webhookRecord({ ...base, subscriptionType: 'object.creation', objectTypeId: '2-123' })!.key).toBe(
      'hubspot:2-123:501',
    );
    expect(webhookRecord({ ...base, subscriptionType: 'contact.unknownThing' })).toBeNull();
  });
});

describe('offset bookkeeping', () => {
  const o: PollOffset = { ...initialOffset('beginning', 0), ts: 100, settled: 50, fast: 50 };

  it('orders positions by (timestamp, numeric id), a null id after every id', () => {
    expect(comparePos(1, '99', 1, '100')).toBeLessThan(0);
    expect(comparePos(1, null, 1, '999999')).toBeGreaterThan(0);
    expect(comparePos(1, null, 2, '1')).toBeLessThan(0);
  });

  it('remembers versions above settled only, and forgets them when settled passes', () => {
    const a = withSeen(o, [
      { ts: 40, id: '1' },
      { ts: 60, id: '2' },
      { ts: 60, id: '3' },
      { ts: 60, id: '2' },
    ]);
    expect(a.seen).toEqual({ '60': ['2', '3'] });
    expect(seenSet(a).has('60:3')).toBe(true);
    expect(settleTo(a, 60).seen).toEqual({});
    expect(settleTo(a, 59).seen).toEqual({ '60': ['2', '3'] });
  });

  it('caps what it remembers by settling the oldest timestamps, and reports the range given up', () => {
    const many = withSeen(o, [
      ...Array.from({ length: 80 }, (_, i) => ({ ts: 60, id: String(i) })),
      ...Array.from({ length: 80 }, (_, i) => ({ ts: 70, id: String(i) })),
    ]);
    const capped = capSeen(many, 100);
    expect(capped.gaveUp).toEqual([50, 60]);
    expect(seenCount(capped.offset)).toBe(80);
    expect(capSeen(capped.offset, 100).gaveUp).toBeNull();
  });

  it('settles behind the head cursor without a second search while reads are already settled', () => {
    // Nothing unsettled behind the head: reads from now are settled up to `safe`.
    const caughtUp = advanceSettled({ ...o, settled: 100 }, 500);
    expect(caughtUp.fast).toBe(500);
    const moved = advanceSettled({ ...caughtUp, ts: 300, id: null }, 600);
    expect(moved.settled).toBe(300);
    // A head beyond `fast` leaves the rest for the lookback pass.
    const beyond = advanceSettled({ ...caughtUp, ts: 900, id: '5' }, 600);
    expect(beyond.settled).toBe(500);
    expect(beyond.fast).toBe(500);
    // Versions at or below `fast` are not remembered: they will never be searched twice.
    expect(withSeen(caughtUp, [{ ts: 400, id: '1' }]).seen).toEqual({});
  });
});

describe('webhook signature v3', () => {
  const secret = 'app-secret';
  const uri = 'https://hooks.example.com/webhooks/hubspot?portal=1';
  const body = '[{"eventId":1}]';
  const now = Date.now();
  const sig = hubSpotSignatureV3(secret, 'POST', uri, body, now);
  const check = (over: Partial<Parameters<typeof verifySignatureV3>[0]>) =>
    verifySignatureV3({
      clientSecret: secret,
      method: 'POST',
      uri,
      body,
      signature: sig,
      timestamp: String(now),
      maxAgeMs: 300_000,
      now,
      ...over,
    });

  it('accepts the signature HubSpot computes', () => {
    expect(check({})).toEqual({ ok: true });
    // HubSpot signs the URI with these characters decoded.
    expect(check({ uri: 'https%3A%2F%2Fhooks.example.com%2Fwebhooks%2Fhubspot%3Fportal=1' })).toEqual({
      ok: true,
    });
  });

  it('rejects a changed body, another secret, a missing header, an old or future timestamp', () => {
    expect(check({ body: '[{"eventId":2}]' })).toMatchObject({ ok: false, reason: 'bad signature' });
    expect(check({ clientSecret: 'other' })).toMatchObject({ ok: false, reason: 'bad signature' });
    expect(check({ signature: undefined })).toMatchObject({ ok: false, status: 401 });
    expect(check({ now: now + 300_001 })).toMatchObject({ ok: false, reason: 'timestamp too old' });
    expect(check({ now: now - 300_001 })).toMatchObject({ ok: false, reason: 'timestamp too old' });
    expect(check({ signature: 'short' })).toMatchObject({ ok: false, reason: 'bad signature' });
  });
});
