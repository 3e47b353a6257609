// HubSpot objects, deletes and webhook events as normalized `crm.change` records, keyed
// `hubspot:<objectType>:<id>` so every change of one record lands in one partition, in order.
import { TOPICS, recordHeaders, type RecordOf } from '@tributary/schemas';
import type { JsonValue, SourceRecord } from '@tributary/sdk';
import type { HistoryEntry, WireObject } from './wire.ts';

export type CrmChange = RecordOf<'crm.change'>;

export const recordKey = (objectType: string, id: string) => `hubspot:${objectType}:${id}`;

const iso = (ms: number) => new Date(ms).toISOString();

function toRecord(value: CrmChange, objectType: string, id: string, timestamp: number): SourceRecord {
  return {
    topic: TOPICS.crmChanges.name,
    key: recordKey(objectType, id),
    // Every field is JSON already (strings, arrays, plain objects, parsed JSON); optional fields are
    // spread in only when present, so no undefined reaches the serializer.
    value: value as unknown as JsonValue,
    headers: recordHeaders('crm.change'),
    timestamp,
  };
}

function actorOf(e: HistoryEntry): string | null {
  if (e.updatedByUserId !== null) return `user:${e.updatedByUserId}`;
  if (e.sourceType && e.sourceId) return `${e.sourceType}:${e.sourceId}`;
  return e.sourceType;
}

export interface SensitiveChange {
  changed: string[];
  previous: Record<string, string | null>;
  actor: string | null;
}

/** Which sensitive properties this version changed, their old values and who changed them, from property
 * history: a property changed in a version when its history has an entry stamped with the version's
 * last-modified time (one write stamps both); the entry before it holds the old value. History read later
 * than the version still answers for it: entries are matched by time, not by position. */
export function sensitiveChanges(
  ts: number,
  sensitive: readonly string[],
  history: Record<string, HistoryEntry[]>,
): SensitiveChange {
  const changed: string[] = [];
  const previous: Record<string, string | null> = {};
  let actor: string | null = null;
  for (const name of sensitive) {
    const entries = history[name] ?? []; // newest first
    const at = entries.findIndex((e) => e.timestamp <= ts);
    if (at < 0 || entries[at]!.timestamp !== ts) continue;
    changed.push(name);
    previous[name] = entries[at + 1]?.value ?? null;
    actor ??= actorOf(entries[at]!);
  }
  return { changed, previous, actor };
}

export interface VersionInput {
  objectType: string;
  lastModified: string;
  object: WireObject;
  sensitive: readonly string[];
  /** Property history of the sensitive properties; undefined when it could not be read (object gone). */
  history: Record<string, HistoryEntry[]> | undefined;
  /** Which pass found it: the first search, or the lookback's second one (indexed late). */
  pass: 'search' | 'lookback';
}

/** One observed version of an object (its state at `lastmodified`) as a change record. */
export function versionRecord(v: VersionInput): SourceRecord {
  const o = v.object;
  const isCreate = o.createdAt === o.ts;
  const s = v.history
    ? sensitiveChanges(o.ts, v.sensitive, v.history)
    : { changed: [], previous: {}, actor: null };
  const changedFields = isCreate
    ? Object.keys(o.properties).filter((k) => o.properties[k] !== null && o.properties[k] !== '')
    : s.changed;
  const nulled = s.changed.filter((k) => o.properties[k] === null || o.properties[k] === '');
  const updatedBy = o.properties.hs_updated_by_user_id;
  const value: CrmChange = {
    system: 'hubspot',
    objectType: v.objectType,
    recordId: o.id,
    changeType: isCreate ? 'create' : 'update',
    changedFields,
    values: o.properties,
    ...(!isCreate && s.changed.length ? { previous: s.previous } : {}),
    ...(nulled.length ? { nulledFields: nulled } : {}),
    actor: s.actor ?? (updatedBy ? `user:${updatedBy}` : null),
    transactionKey: null,
    commitTimestamp: iso(o.ts),
    sourcePosition: `search:${v.objectType}:${o.ts}:${o.id}`,
    header: {
      source: v.pass,
      lastModifiedProperty: v.lastModified,
      lastModified: iso(o.ts),
      createdAt: iso(o.createdAt),
      updatedAt: iso(o.updatedAt),
      // A polling source sees states: for updates only property history says what changed, and it is
      // read for the sensitive properties only.
      changedFieldsFrom: isCreate ? 'create' : 'sensitive-property-history',
      ...(v.history === undefined && v.sensitive.length ? { historyUnavailable: true } : {}),
    },
  };
  return toRecord(value, v.objectType, o.id, o.ts);
}

/** An archived (deleted) object from the archived list. `payloadError`: the object's other fields were
 * broken; the delete itself (id, archivedAt) is still certain, so it is emitted with what was readable. */
export function deleteRecord(objectType: string, o: WireObject, payloadError?: string): SourceRecord {
  const at = o.archivedAt ?? o.ts;
  const value: CrmChange = {
    system: 'hubspot',
    objectType,
    recordId: o.id,
    changeType: 'delete',
    changedFields: [],
    values: o.properties,
    actor: null,
    transactionKey: null,
    commitTimestamp: iso(at),
    sourcePosition: `archived:${objectType}:${at}:${o.id}`,
    header: {
      source: 'archived-list',
      archivedAt: iso(at),
      ...(Number.isNaN(o.createdAt) ? {} : { createdAt: iso(o.createdAt) }),
      ...(payloadError ? { payloadError } : {}),
    },
  };
  return toRecord(value, objectType, o.id, at);
}

/** Webhook subscription prefixes and the object types they name. */
const OBJECT_TYPES: Record<string, string> = {
  contact: 'contacts',
  company: 'companies',
  deal: 'deals',
  ticket: 'tickets',
  product: 'products',
  line_item: 'line_items',
  conversation: 'conversations',
};

const CHANGE_TYPES: Record<string, CrmChange['changeType']> = {
  creation: 'create',
  deletion: 'delete',
  privacyDeletion: 'delete',
  propertyChange: 'update',
  restore: 'undelete',
  merge: 'update',
  associationChange: 'update',
};

export interface WebhookEvent {
  eventId: number | string;
  subscriptionId: number | string;
  subscriptionType: string;
  objectId: number | string;
  occurredAt: number;
  portalId?: number | string;
  propertyName?: string;
  propertyValue?: string;
  objectTypeId?: string;
  sourceId?: string;
  changeSource?: string;
  [k: string]: unknown;
}

/** The dedupe key of a webhook event (HubSpot does not promise eventId is unique across subscriptions). */
export const webhookKey = (e: WebhookEvent) => `${e.subscriptionId}:${e.eventId}`;

/** A webhook event as a change record; null for subscription types that are not object changes. */
export function webhookRecord(e: WebhookEvent): SourceRecord | null {
  const [prefix, kind] = e.subscriptionType.split('.', 2) as [string, string | undefined];
  const objectType = prefix === 'object' ? e.objectTypeId : OBJECT_TYPES[prefix];
  const changeType = kind ? CHANGE_TYPES[kind] : undefined;
  if (!objectType || !changeType) return null;
  const id = String(e.objectId);
  const property = kind === 'propertyChange' && e.propertyName ? e.propertyName : null;
  const value: CrmChange = {
    system: 'hubspot',
    objectType,
    recordId: id,
    changeType,
    changedFields: property ? [property] : [],
    values: property ? { [property]: e.propertyValue ?? null } : {},
    ...(property && (e.propertyValue === undefined || e.propertyValue === '')
      ? { nulledFields: [property] }
      : {}),
    actor: e.sourceId ?? e.changeSource ?? null,
    transactionKey: null,
    commitTimestamp: iso(e.occurredAt),
    sourcePosition: `webhook:${webhookKey(e)}`,
    header: { source: 'webhook', ...e },
  };
  return toRecord(value, objectType, id, e.occurredAt);
}
