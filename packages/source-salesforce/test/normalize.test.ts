// Unit tests: CDC message validation and mapping to crm.change, gap and snapshot rows, polled rows, the
// replay-expired alert, JWT assertions and config validation.
import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { validateRecord } from '@tributary/schemas';
import {
  changeTypeOf,
  channelPlan,
  configSchema,
  eventRecords,
  gapRecord,
  jwtAssertion,
  parseMessage,
  polledRecord,
  replayExpiredAlert,
  snapshotRecord,
} from '../src/index.ts';
import { keys } from './helpers.ts';

const header = (over: Record<string, unknown> = {}) => ({
  entityName: 'Account',
  recordIds: ['001xx000003DGb2AAG'],
  changeType: 'UPDATE',
  changeOrigin: 'com/salesforce/api/rest/60.0;client=x',
  transactionKey: '0002343d-9d90-e395-ed20-cf416ba652ad',
  sequenceNumber: 1,
  commitTimestamp: 1_700_000_000_000,
  commitNumber: 10714243916161,
  commitUser: '005xx000001X8UzAAK',
  changedFields: ['Name', 'Phone', 'LastModifiedDate'],
  ...over,
});
const message = (h: Record<string, unknown>, body: Record<string, unknown> = {}, replayId = 16042) => ({
  schema: 'IeRuaY6cbI_HsV8Rv1Mc5g',
  payload: { ChangeEventHeader: h, ...body },
  event: { replayId },
});
const base = {
  loginUrl: 'http://127.0.0.1:1',
  auth: { type: 'client-credentials', clientId: 'a', clientSecret: 'b' },
};

describe('CDC event mapping', () => {
  it('maps an update: changed fields, nulled fields (null in the CometD body), header kept whole', () => {
    const p = parseMessage(
      message(header(), { Name: 'Acme', Phone: null, LastModifiedDate: '2023-11-14T22:13:20.000Z' }),
    );
    expect(p.ok).toBe(true);
    if (!p.ok) return;
    const [r, ...rest] = eventRecords(p.event);
    expect(rest).toHaveLength(0);
    expect(r!.key).toBe('salesforce:Account:001xx000003DGb2AAG');
    expect(r!.topic).toBe('crm.changes');
    expect(r!.timestamp).toBe(1_700_000_000_000);
    const v = validateRecord('crm.change', r!.value);
    expect(v).toMatchObject({
      system: 'salesforce',
      objectType: 'Account',
      recordId: '001xx000003DGb2AAG',
      changeType: 'update',
      changedFields: ['Name', 'Phone', 'LastModifiedDate'],
      values: { Name: 'Acme', Phone: null },
      nulledFields: ['Phone'],
      actor: '005xx000001X8UzAAK',
      transactionKey: '0002343d-9d90-e395-ed20-cf416ba652ad',
      commitTimestamp: '2023-11-14T22:13:20.000Z',
      sourcePosition: '16042',
    });
    expect(v.recordIds).toBeUndefined();
    expect(v.header).toEqual(header());
  });

  it('uses the header nulledFields/diffFields when the channel carries them', () => {
    const p = parseMessage(
      message(header({ nulledFields: ['Phone'], diffFields: ['Description'] }), { Name: 'x' }),
    );
    if (!p.ok) throw new Error(p.error);
    const v = validateRecord('crm.change', eventRecords(p.event)[0]!.value);
    expect(v.nulledFields).toEqual(['Phone']);
    expect(v.header).toMatchObject({ diffFields: ['Description'] });
  });

  it('splits a merged event into one record per id, each naming all ids', () => {
    const ids = ['001A', '001B', '001C'];
    const p = parseMessage(message(header({ recordIds: ids }), { Industry: 'Tech' }));
    if (!p.ok) throw new Error(p.error);
    const rs = eventRecords(p.event).map((r) => validateRecord('crm.change', r.value));
    expect(rs.map((r) => r.recordId)).toEqual(ids);
    for (const r of rs) expect(r.recordIds).toEqual(ids);
  });

  it('maps create (all body fields changed), delete (no fields) and undelete', () => {
    const create = parseMessage(
      message(header({ changeType: 'CREATE', changedFields: [] }), { Name: 'N', Industry: 'I' }),
    );
    const del = parseMessage(message(header({ changeType: 'DELETE', changedFields: [] })));
    const undel = parseMessage(message(header({ changeType: 'UNDELETE', changedFields: [] }), { Name: 'N' }));
    if (!create.ok || !del.ok || !undel.ok) throw new Error('parse');
    expect(eventRecords(create.event)[0]!.value).toMatchObject({
      changeType: 'create',
      changedFields: ['Name', 'Industry'],
    });
    expect(eventRecords(del.event)[0]!.value).toMatchObject({
      changeType: 'delete',
      changedFields: [],
      values: {},
    });
    expect(eventRecords(undel.event)[0]!.value).toMatchObject({
      changeType: 'undelete',
      changedFields: ['Name'],
    });
  });

  it('rejects malformed messages with a reason, keeping the replay id when there is one', () => {
    const noHeader = parseMessage({ payload: { Name: 'x' }, event: { replayId: 5 } });
    expect(noHeader).toMatchObject({ ok: false, replayId: 5 });
    expect(!noHeader.ok && noHeader.error).toContain('ChangeEventHeader');
    const badIds = parseMessage(message(header({ recordIds: '001A' })));
    expect(badIds).toMatchObject({ ok: false, replayId: 16042 });
    expect(!badIds.ok && badIds.error).toContain('recordIds');
    expect(parseMessage(message(header({ changeType: 'BOGUS' })))).toMatchObject({ ok: false });
    expect(parseMessage('{"ChangeEventHeader": {')).toMatchObject({ ok: false, replayId: null });
    expect(parseMessage(message(header({ recordIds: [] })))).toMatchObject({
      ok: false,
      error: 'recordIds is empty',
    });
  });

  it('maps gap types to the change they stand for, overflow to gap; re-read rows become the values', () => {
    expect(
      ['GAP_CREATE', 'GAP_UPDATE', 'GAP_DELETE', 'GAP_UNDELETE', 'GAP_OVERFLOW'].map(changeTypeOf),
    ).toEqual(['create', 'update', 'delete', 'undelete', 'gap']);
    const p = parseMessage(message(header({ changeType: 'GAP_UPDATE', changedFields: [] })));
    if (!p.ok) throw new Error(p.error);
    const row = { attributes: { type: 'Account' }, Id: '001xx000003DGb2AAG', Name: 'Now', IsDeleted: false };
    const v = validateRecord('crm.change', gapRecord(p.event, 'Account', row.Id, row).value);
    expect(v).toMatchObject({ changeType: 'update', values: { Id: row.Id, Name: 'Now', IsDeleted: false } });
    expect(v.header).toMatchObject({ changeType: 'GAP_UPDATE' });
    // A row gone or deleted by now is a delete.
    expect(gapRecord(p.event, 'Account', row.Id, null).value).toMatchObject({
      changeType: 'delete',
      values: {},
    });
    expect(gapRecord(p.event, 'Account', row.Id, { ...row, IsDeleted: true }).value).toMatchObject({
      changeType: 'delete',
    });
  });
});

describe('rows read back', () => {
  it('snapshot rows (Bulk CSV text) are snapshot records at their SystemModstamp', () => {
    const r = snapshotRecord(
      'Contact',
      { Id: '003A', LastName: 'L', SystemModstamp: '2024-01-02T03:04:05.000Z', LastModifiedById: '005U' },
      '750J',
    );
    expect(validateRecord('crm.change', r.value)).toMatchObject({
      changeType: 'snapshot',
      recordId: '003A',
      commitTimestamp: '2024-01-02T03:04:05.000Z',
      actor: '005U',
      sourcePosition: 'snapshot:750J',
    });
  });

  it('polled rows: create when never modified, update otherwise, delete when IsDeleted', () => {
    const row = {
      attributes: { type: 'Account', url: '/x' },
      Id: '001A',
      IsDeleted: false,
      CreatedDate: '2024-01-02T03:04:05.000+0000',
      LastModifiedDate: '2024-01-02T03:04:05.000+0000',
      SystemModstamp: '2024-01-02T03:04:05.000+0000',
    };
    expect(validateRecord('crm.change', polledRecord('Account', row).value)).toMatchObject({
      changeType: 'create',
      commitTimestamp: '2024-01-02T03:04:05.000Z',
      sourcePosition: '2024-01-02T03:04:05.000+0000/001A',
    });
    expect(
      polledRecord('Account', { ...row, LastModifiedDate: '2024-01-03T00:00:00.000+0000' }).value,
    ).toMatchObject({
      changeType: 'update',
    });
    expect(polledRecord('Account', { ...row, IsDeleted: true }).value).toMatchObject({
      changeType: 'delete',
    });
    expect((polledRecord('Account', row).value as { values: object }).values).not.toHaveProperty(
      'attributes',
    );
  });

  it('the replay-expired alert is a valid alert with a stable id', () => {
    const a = {
      connector: 'sf',
      channel: '/data/AccountChangeEvent',
      replayId: 42,
      since: null,
      policy: 'resnapshot' as const,
      serverError: '400::The replayId {42} you provided was invalid.',
      at: 1_700_000_000_000,
    };
    const r = replayExpiredAlert(a);
    expect(r.topic).toBe('alerts');
    const v = validateRecord('alert', r.value);
    expect(v.ruleId).toBe('salesforce.replay-expired');
    expect(v.summary).toContain('replayId 42');
    expect(replayExpiredAlert({ ...a, at: 1 }).value).toMatchObject({ alertId: v.alertId });
  });
});

describe('auth and config', () => {
  it('signs a JWT bearer assertion (RS256) that verifies with the certificate key', () => {
    const jwt = jwtAssertion(
      {
        clientId: 'cid',
        username: 'u@x',
        privateKey: keys.privateKey,
        audience: 'https://login.salesforce.com',
      },
      1_700_000_000_000,
    );
    const [h, c, s] = jwt.split('.') as [string, string, string];
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(JSON.parse(Buffer.from(c, 'base64url').toString())).toEqual({
      iss: 'cid',
      sub: 'u@x',
      aud: 'https://login.salesforce.com',
      exp: 1_700_000_180,
    });
    expect(
      verify(
        'RSA-SHA256',
        Buffer.from(`${h}.${c}`),
        createPublicKey(keys.publicKey),
        Buffer.from(s, 'base64url'),
      ),
    ).toBe(true);
  });

  it('defaults to one channel per object; /data/ChangeEvents carries objects without their own', () => {
    const c = configSchema.parse({ ...base, objects: [{ name: 'Account' }, { name: 'Invoice__c' }] });
    expect(channelPlan(c)).toEqual([
      { channel: '/data/AccountChangeEvent', objects: ['Account'] },
      { channel: '/data/Invoice__ChangeEvent', objects: ['Invoice__c'] },
    ]);
    const m = configSchema.parse({
      ...base,
      objects: [{ name: 'Account' }, { name: 'Contact' }],
      channels: ['/data/ChangeEvents'],
    });
    expect(channelPlan(m)).toEqual([{ channel: '/data/ChangeEvents', objects: ['Account', 'Contact'] }]);
    expect(c.start).toBe('snapshot');
    expect(c.replayExpired).toBe('resnapshot');
  });

  it('rejects configs that would miss or double an object, naming the field', () => {
    const miss = configSchema.safeParse({
      ...base,
      objects: [{ name: 'Account' }],
      channels: ['/data/ContactChangeEvent'],
    });
    expect(miss.error?.issues.map((i) => i.path.join('.'))).toContain('objects.0.name');
    const twice = configSchema.safeParse({
      ...base,
      objects: [{ name: 'Account' }],
      channels: ['/data/AccountChangeEvent', '/data/ChangeEvents'],
    });
    expect(twice.error?.issues.map((i) => i.path.join('.'))).toContain('objects.0.name');
    const secret = configSchema.parse({ ...base, objects: [{ name: 'Account' }] });
    expect(JSON.stringify(secret)).not.toContain('"b"');
  });
});
