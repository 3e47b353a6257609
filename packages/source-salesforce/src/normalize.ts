// Salesforce shapes -> `crm.change` records: CDC events (one record per record id, the whole
// ChangeEventHeader kept), records re-read for gap events, snapshot rows and polled rows.
import { z } from 'zod';
import { TOPICS, recordHeaders, type CrmChange } from '@tributary/schemas';
import type { SourceRecord } from '@tributary/sdk';

const CHANGE_TYPES = [
  'CREATE',
  'UPDATE',
  'DELETE',
  'UNDELETE',
  'GAP_CREATE',
  'GAP_UPDATE',
  'GAP_DELETE',
  'GAP_UNDELETE',
  'GAP_OVERFLOW',
] as const;

const headerSchema = z.looseObject({
  entityName: z.string().min(1),
  recordIds: z.array(z.string()),
  changeType: z.enum(CHANGE_TYPES),
  commitTimestamp: z.number().int().nonnegative(),
  commitUser: z.string().nullish(),
  transactionKey: z.string().nullish(),
  changedFields: z.array(z.string()).nullish(),
  nulledFields: z.array(z.string()).nullish(),
  diffFields: z.array(z.string()).nullish(),
});

const messageSchema = z.looseObject({
  event: z.looseObject({ replayId: z.number().int() }),
  payload: z.looseObject({ ChangeEventHeader: headerSchema }),
});

export type ChangeEventHeader = z.infer<typeof headerSchema>;

export interface CdcEvent {
  replayId: number;
  header: ChangeEventHeader;
  /** Field values of the event body (everything but the header). */
  fields: Record<string, unknown>;
}

export type ParsedMessage =
  | { ok: true; event: CdcEvent }
  | { ok: false; replayId: number | null; commitTimestamp: number | null; error: string };

/** Validates one streaming message (`data` of a faye message). */
export function parseMessage(data: unknown): ParsedMessage {
  const r = messageSchema.safeParse(data);
  if (!r.success) {
    const d = data as {
      event?: { replayId?: unknown };
      payload?: { ChangeEventHeader?: { commitTimestamp?: unknown } };
    } | null;
    const id = d?.event?.replayId;
    const at = d?.payload?.ChangeEventHeader?.commitTimestamp;
    return {
      ok: false,
      replayId: typeof id === 'number' && Number.isInteger(id) ? id : null,
      commitTimestamp: typeof at === 'number' ? at : null,
      error: r.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
    };
  }
  const { ChangeEventHeader: header, ...fields } = r.data.payload;
  if (!header.changeType.startsWith('GAP_') && header.recordIds.length === 0)
    return {
      ok: false,
      replayId: r.data.event.replayId,
      commitTimestamp: header.commitTimestamp,
      error: 'recordIds is empty',
    };
  return { ok: true, event: { replayId: r.data.event.replayId, header, fields } };
}

type ChangeType = CrmChange['changeType'];

const LOWER: Record<string, ChangeType> = {
  CREATE: 'create',
  UPDATE: 'update',
  DELETE: 'delete',
  UNDELETE: 'undelete',
};

/** A gap event's change type on the record it stands for: GAP_UPDATE -> update, ...; GAP_OVERFLOW ->
 * gap. The header keeps the original. */
export function changeTypeOf(sfType: string): ChangeType {
  return LOWER[sfType.replace(/^GAP_/, '')] ?? 'gap';
}

export const isGap = (h: ChangeEventHeader) => h.changeType.startsWith('GAP_');

/** A record id naming every record of a type (`001*`, after some field-type conversions). */
export const isWildcard = (id: string) => id.endsWith('*');

export function crmRecord(change: CrmChange): SourceRecord {
  return {
    topic: TOPICS.crmChanges.name,
    key: `salesforce:${change.objectType}:${change.recordId}`,
    value: change as unknown as SourceRecord['value'],
    headers: recordHeaders('crm.change'),
    timestamp: Date.parse(change.commitTimestamp),
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The records of a regular (non-gap) event: one per record id. */
export function eventRecords(ev: CdcEvent): SourceRecord[] {
  const h = ev.header;
  const changeType = changeTypeOf(h.changeType);
  const changedFields =
    changeType === 'update'
      ? (h.changedFields ?? Object.keys(ev.fields))
      : changeType === 'delete'
        ? []
        : Object.keys(ev.fields);
  // Over CometD a field set to null arrives as null in the body; the Pub/Sub form names them instead.
  const nulledFields =
    h.nulledFields ??
    (changeType === 'update'
      ? Object.entries(ev.fields)
          .filter(([, v]) => v === null)
          .map(([k]) => k)
      : []);
  return h.recordIds.map((recordId) =>
    crmRecord({
      system: 'salesforce',
      objectType: h.entityName,
      recordId,
      ...(h.recordIds.length > 1 ? { recordIds: h.recordIds } : {}),
      changeType,
      changedFields,
      values: ev.fields,
      ...(nulledFields.length ? { nulledFields } : {}),
      actor: h.commitUser ?? null,
      transactionKey: h.transactionKey ?? null,
      commitTimestamp: iso(h.commitTimestamp),
      sourcePosition: String(ev.replayId),
      header: h,
    }),
  );
}

/** Values of a row read back through REST or Bulk, without the REST `attributes` wrapper. */
export function rowValues(row: Record<string, unknown>): Record<string, unknown> {
  const { attributes: _a, ...values } = row;
  return values;
}

const isDeletedRow = (row: Record<string, unknown>) => row.IsDeleted === true || row.IsDeleted === 'true';

/** A record re-read for a gap (or overflow) event: the current row stands for the change. A record that
 * no longer exists at all (hard-deleted, purged from the recycle bin) is emitted as a delete without
 * values. */
export function gapRecord(
  ev: CdcEvent,
  objectType: string,
  recordId: string,
  row: Record<string, unknown> | null,
): SourceRecord {
  const h = ev.header;
  let changeType = changeTypeOf(h.changeType);
  const values = row ? rowValues(row) : {};
  if (!row || isDeletedRow(row)) changeType = 'delete';
  return crmRecord({
    system: 'salesforce',
    objectType,
    recordId,
    ...(h.recordIds.length > 1 ? { recordIds: h.recordIds } : {}),
    changeType,
    changedFields: Object.keys(values).filter((k) => k !== 'Id'),
    values,
    actor: h.commitUser ?? null,
    transactionKey: h.transactionKey ?? null,
    commitTimestamp: iso(h.commitTimestamp),
    sourcePosition: String(ev.replayId),
    header: h,
  });
}

/** A snapshot row (Bulk CSV). */
export function snapshotRecord(
  objectType: string,
  row: Record<string, unknown>,
  jobId: string,
): SourceRecord {
  const values = rowValues(row);
  const modstamp = sfTime(values.SystemModstamp);
  return crmRecord({
    system: 'salesforce',
    objectType,
    recordId: String(values.Id),
    changeType: 'snapshot',
    changedFields: Object.keys(values).filter((k) => k !== 'Id'),
    values,
    actor: typeof values.LastModifiedById === 'string' ? values.LastModifiedById : null,
    transactionKey: null,
    commitTimestamp: iso(Number.isNaN(modstamp) ? Date.now() : modstamp),
    sourcePosition: `snapshot:${jobId}`,
  });
}

/** Salesforce datetimes (`2024-01-01T00:00:00.000+0000`) as epoch ms. */
export function sfTime(v: unknown): number {
  return typeof v === 'string' ? Date.parse(v.replace(/([+-]\d{2})(\d{2})$/, '$1:$2')) : NaN;
}

/** A row found by polling: create when it was never modified after creation, delete when deleted. The
 * version (SystemModstamp) is the source position. */
export function polledRecord(objectType: string, row: Record<string, unknown>): SourceRecord {
  const values = rowValues(row);
  const modstamp = sfTime(values.SystemModstamp);
  const changeType: ChangeType = isDeletedRow(values)
    ? 'delete'
    : values.CreatedDate !== undefined && values.CreatedDate === values.LastModifiedDate
      ? 'create'
      : 'update';
  return crmRecord({
    system: 'salesforce',
    objectType,
    recordId: String(values.Id),
    changeType,
    changedFields: Object.keys(values).filter((k) => k !== 'Id'),
    values,
    actor: typeof values.LastModifiedById === 'string' ? values.LastModifiedById : null,
    transactionKey: null,
    commitTimestamp: new Date(modstamp).toISOString(),
    sourcePosition: `${String(values.SystemModstamp)}/${String(values.Id)}`,
  });
}
