// The simulated org: configured objects, their records, transactions that change them, and the Change Data
// Capture event log those transactions publish (replay ids, retention, gap and overflow events). REST
// queries, Bulk jobs and the CometD endpoint all read from here, so every change is visible both ways.
import { randomUUID } from 'node:crypto';

export interface SimObjectSpec {
  /** API name, e.g. `Account` or `Invoice__c`. */
  name: string;
  /** Three-character id prefix (default derived from the name). */
  keyPrefix?: string;
  /** Custom (non-system) fields. */
  fields: string[];
}

export type SimRecord = Record<string, unknown> & { Id: string };
export type ChangeKind = 'CREATE' | 'UPDATE' | 'DELETE' | 'UNDELETE';

/** How a committed change reached the event log. */
export type EventStyle = 'normal' | 'gap' | 'overflow' | 'malformed';

/** One change a transaction made, as the test sees it (ground truth for assertions). */
export interface CommittedChange {
  objectType: string;
  recordId: string;
  kind: ChangeKind;
  /** Fields the change set (new values). */
  fields: Record<string, unknown>;
  systemModstamp: string;
  commitTimestamp: number;
  transactionKey: string;
  /** The event that carries it: null for changes beyond the overflow threshold (in a GAP_OVERFLOW). */
  replayId: number | null;
  style: EventStyle;
}

export interface CdcEvent {
  replayId: number;
  entityName: string;
  /** The entity's own channel, e.g. `/data/AccountChangeEvent`. */
  channel: string;
  commitTimestamp: number;
  /** `data.payload` as sent on the wire (corrupted for malformed events). */
  payload: unknown;
  schema: string;
}

export interface TxOptions {
  /** User id recorded as commitUser / LastModifiedById. */
  user?: string;
  /** Publish this transaction's changes as GAP_* events (header only). */
  gap?: boolean;
  /** Publish this transaction's events with a corrupted payload. */
  malformed?: boolean;
  /** `changeOrigin` header value. */
  origin?: string;
}

export interface Transaction {
  readonly key: string;
  create(objectType: string, fields: Record<string, unknown>): string;
  update(objectType: string, id: string, fields: Record<string, unknown>): void;
  /** One change applied to several records: one event naming all their ids (Salesforce merges these). */
  updateMany(objectType: string, ids: string[], fields: Record<string, unknown>): void;
  delete(objectType: string, id: string): void;
  undelete(objectType: string, id: string): void;
  /** Makes the changes visible and publishes their events; returns what was committed. */
  commit(): CommittedChange[];
}

export interface OrgOptions {
  objects: SimObjectSpec[];
  /** Events older than this are purged (Salesforce: 72 h for CDC). */
  retentionMs: number;
  /** A transaction with more changes than this publishes GAP_OVERFLOW for the rest (Salesforce: 100,000). */
  overflowThreshold: number;
  /** SystemModstamp granularity (Salesforce stores whole seconds). */
  modstampResolutionMs: number;
  /** Probability a transaction is published as gap events. */
  gapRate: number;
  /** Probability an event is published malformed. */
  malformedRate: number;
  random: () => number;
  apiVersion: string;
}

export const SYSTEM_FIELDS = [
  'Id',
  'IsDeleted',
  'CreatedDate',
  'CreatedById',
  'LastModifiedDate',
  'LastModifiedById',
  'SystemModstamp',
] as const;

const ID_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** `Account` -> `/data/AccountChangeEvent`; `Invoice__c` -> `/data/Invoice__ChangeEvent`. */
export function entityChannel(objectType: string): string {
  return objectType.endsWith('__c')
    ? `/data/${objectType.slice(0, -3)}__ChangeEvent`
    : `/data/${objectType}ChangeEvent`;
}

export const ALL_CHANGE_EVENTS = '/data/ChangeEvents';

function defaultPrefix(name: string, i: number): string {
  const known: Record<string, string> = { Account: '001', Contact: '003', Opportunity: '006', Lead: '00Q' };
  return known[name] ?? `a0${ID_CHARS[i % ID_CHARS.length]}`;
}

export type Org = ReturnType<typeof createOrg>;

export function createOrg(o: OrgOptions) {
  const specs = new Map<string, SimObjectSpec & { keyPrefix: string }>();
  o.objects.forEach((s, i) =>
    specs.set(s.name, { ...s, keyPrefix: s.keyPrefix ?? defaultPrefix(s.name, i) }),
  );
  const records = new Map<string, Map<string, SimRecord>>();
  for (const name of specs.keys()) records.set(name, new Map());

  const events: CdcEvent[] = [];
  const committed: CommittedChange[] = [];
  const listeners = new Set<(e: CdcEvent) => void>();
  let lastReplayId = 0;
  /** Highest replay id purged by retention: a replay from below it would skip purged events. */
  let purgedUpTo = 0;
  let commitNumber = 10_714_243_916_000;
  let idCounter = 0;
  let clockSkewMs = 0;

  const now = () => Date.now() + clockSkewMs;
  const modstamp = (ms: number) =>
    new Date(Math.floor(ms / o.modstampResolutionMs) * o.modstampResolutionMs).toISOString();

  function spec(objectType: string) {
    const s = specs.get(objectType);
    if (!s) throw new Error(`simulator: unknown object ${objectType}`);
    return s;
  }

  function newId(objectType: string): string {
    const prefix = spec(objectType).keyPrefix;
    let n = ++idCounter;
    let body = '';
    for (let i = 0; i < 9; i++) {
      body = ID_CHARS[n % 62]! + body;
      n = Math.floor(n / 62);
    }
    // 3 prefix + 3 pod + 9 counter = 15; the 3-character case-safe suffix of real ids is not modelled.
    return `${prefix}5g0${body}AAA`;
  }

  function purge(): void {
    const cutoff = now() - o.retentionMs;
    let n = 0;
    while (n < events.length && events[n]!.commitTimestamp < cutoff) n++;
    if (n > 0) {
      purgedUpTo = events[n - 1]!.replayId;
      events.splice(0, n);
    }
  }

  interface Op {
    kind: ChangeKind;
    objectType: string;
    ids: string[];
    fields: Record<string, unknown>;
    modstamp: string;
  }

  function begin(opts: TxOptions = {}): Transaction {
    const key = randomUUID();
    const user = opts.user ?? '005000000000001AAA';
    const ops: Op[] = [];
    const created = new Set<string>();
    let done = false;
    const guard = () => {
      if (done) throw new Error('simulator: transaction already committed');
    };
    const existing = (objectType: string, id: string) => {
      if (!records.get(objectType)!.has(id) && !created.has(id))
        throw new Error(`simulator: no ${objectType} ${id}`);
    };
    const checkFields = (objectType: string, fields: Record<string, unknown>) => {
      const s = spec(objectType);
      for (const f of Object.keys(fields))
        if (!s.fields.includes(f)) throw new Error(`simulator: ${objectType} has no field ${f}`);
    };
    return {
      key,
      create(objectType, fields) {
        guard();
        checkFields(objectType, fields);
        const id = newId(objectType);
        created.add(id);
        ops.push({ kind: 'CREATE', objectType, ids: [id], fields: { ...fields }, modstamp: modstamp(now()) });
        return id;
      },
      update(objectType, id, fields) {
        this.updateMany(objectType, [id], fields);
      },
      updateMany(objectType, ids, fields) {
        guard();
        checkFields(objectType, fields);
        for (const id of ids) existing(objectType, id);
        ops.push({
          kind: 'UPDATE',
          objectType,
          ids: [...ids],
          fields: { ...fields },
          modstamp: modstamp(now()),
        });
      },
      delete(objectType, id) {
        guard();
        existing(objectType, id);
        ops.push({ kind: 'DELETE', objectType, ids: [id], fields: {}, modstamp: modstamp(now()) });
      },
      undelete(objectType, id) {
        guard();
        existing(objectType, id);
        ops.push({ kind: 'UNDELETE', objectType, ids: [id], fields: {}, modstamp: modstamp(now()) });
      },
      commit() {
        guard();
        done = true;
        return commitOps(ops, key, user, opts);
      },
    };
  }

  function apply(op: Op, id: string, user: string): SimRecord {
    const table = records.get(op.objectType)!;
    let rec = table.get(id);
    if (op.kind === 'CREATE') {
      rec = { Id: id, IsDeleted: false, CreatedDate: op.modstamp, CreatedById: user };
      for (const f of spec(op.objectType).fields) rec[f] = null;
      table.set(id, rec);
    }
    if (!rec) throw new Error(`simulator: no ${op.objectType} ${id}`);
    Object.assign(rec, op.fields);
    if (op.kind === 'DELETE') rec.IsDeleted = true;
    if (op.kind === 'UNDELETE') rec.IsDeleted = false;
    rec.LastModifiedDate = op.modstamp;
    rec.LastModifiedById = user;
    rec.SystemModstamp = op.modstamp;
    return rec;
  }

  function commitOps(ops: Op[], transactionKey: string, user: string, opts: TxOptions): CommittedChange[] {
    const commitTimestamp = now();
    const number = ++commitNumber;
    const origin = opts.origin ?? `com/salesforce/api/rest/${o.apiVersion};client=simulator`;
    const out: CommittedChange[] = [];
    const gap = opts.gap ?? o.random() < o.gapRate;
    const overflowed = new Map<string, Op[]>();
    let sequence = 0;
    let counted = 0;
    for (const op of ops) {
      const recs = op.ids.map((id) => apply(op, id, user));
      // Each record an op touches counts toward the overflow threshold (Salesforce counts field changes
      // of updates too; records are enough to exercise the path).
      counted += op.ids.length;
      if (counted > o.overflowThreshold) {
        overflowed.set(op.objectType, [...(overflowed.get(op.objectType) ?? []), op]);
        for (const id of op.ids) out.push(change(op, id, null, 'overflow', commitTimestamp, transactionKey));
        continue;
      }
      const header: Record<string, unknown> = {
        entityName: op.objectType,
        recordIds: op.ids,
        changeType: gap ? `GAP_${op.kind}` : op.kind,
        changeOrigin: origin,
        transactionKey,
        sequenceNumber: gap ? 1 : ++sequence,
        commitTimestamp,
        commitNumber: number,
        commitUser: user,
        changedFields: [] as string[],
      };
      let body: Record<string, unknown> = {};
      if (!gap) {
        if (op.kind === 'UPDATE') {
          header.changedFields = [...Object.keys(op.fields), 'LastModifiedDate'];
          body = { ...op.fields, LastModifiedDate: op.modstamp };
        } else if (op.kind === 'CREATE' || op.kind === 'UNDELETE') {
          // Event bodies leave out null fields, IsDeleted and SystemModstamp.
          const r = recs[0]!;
          for (const [k, v] of Object.entries(r))
            if (v !== null && k !== 'Id' && k !== 'IsDeleted' && k !== 'SystemModstamp') body[k] = v;
        }
      }
      const malformed = opts.malformed ?? o.random() < o.malformedRate;
      const ev = publish(op.objectType, { ChangeEventHeader: header, ...body }, commitTimestamp, malformed);
      const style: EventStyle = malformed ? 'malformed' : gap ? 'gap' : 'normal';
      for (const id of op.ids) out.push(change(op, id, ev.replayId, style, commitTimestamp, transactionKey));
    }
    for (const objectType of overflowed.keys()) {
      publish(
        objectType,
        {
          ChangeEventHeader: {
            entityName: objectType,
            recordIds: [],
            changeType: 'GAP_OVERFLOW',
            changeOrigin: origin,
            transactionKey,
            sequenceNumber: ++sequence,
            commitTimestamp,
            commitNumber: number,
            commitUser: user,
            changedFields: [],
          },
        },
        commitTimestamp,
        false,
      );
    }
    committed.push(...out);
    return out;
  }

  function change(
    op: Op,
    recordId: string,
    replayId: number | null,
    style: EventStyle,
    commitTimestamp: number,
    transactionKey: string,
  ): CommittedChange {
    return {
      objectType: op.objectType,
      recordId,
      kind: op.kind,
      fields: op.fields,
      systemModstamp: op.modstamp,
      commitTimestamp,
      transactionKey,
      replayId,
      style,
    };
  }

  function corrupt(payload: Record<string, unknown>): unknown {
    const variant = Math.floor(o.random() * 3);
    if (variant === 0) {
      const { ChangeEventHeader: _h, ...rest } = payload;
      return rest;
    }
    if (variant === 1) {
      const h = payload.ChangeEventHeader as Record<string, unknown>;
      return { ...payload, ChangeEventHeader: { ...h, recordIds: String(h.recordIds) } };
    }
    return '{"ChangeEventHeader": {"entityName": ';
  }

  function publish(
    entityName: string,
    payload: Record<string, unknown>,
    commitTimestamp: number,
    malformed: boolean,
  ): CdcEvent {
    purge();
    // Replay ids increase but are not contiguous: consumers must not compute them.
    lastReplayId += 1 + Math.floor(o.random() * 20);
    const ev: CdcEvent = {
      replayId: lastReplayId,
      entityName,
      channel: entityChannel(entityName),
      commitTimestamp,
      payload: malformed ? corrupt(payload) : payload,
      schema: `sim${entityName}Schema`,
    };
    events.push(ev);
    for (const l of listeners) l(ev);
    return ev;
  }

  /** Inserts rows as if they predate Change Data Capture: visible to queries, no events. */
  function seed(objectType: string, rows: Record<string, unknown>[], user = '005000000000001AAA'): string[] {
    const table = records.get(objectType);
    if (!table) throw new Error(`simulator: unknown object ${objectType}`);
    const stamp = modstamp(now());
    const fields = spec(objectType).fields;
    return rows.map((fieldsIn) => {
      const id = newId(objectType);
      const rec: SimRecord = { Id: id, IsDeleted: false, CreatedDate: stamp, CreatedById: user };
      for (const f of fields) rec[f] = fieldsIn[f] ?? null;
      Object.assign(rec, { LastModifiedDate: stamp, LastModifiedById: user, SystemModstamp: stamp });
      table.set(id, rec);
      return id;
    });
  }

  return {
    options: o,
    now,
    seed,
    /** Moves the org's clock (all timestamps it issues) by `ms`. */
    skewClock(ms: number) {
      clockSkewMs += ms;
    },
    objects: () => [...specs.values()],
    spec,
    hasObject: (name: string) => specs.has(name),
    records: (objectType: string) => records.get(objectType) ?? new Map<string, SimRecord>(),
    begin,
    /** Retained events after `afterReplayId`, optionally only those of one entity channel. */
    eventsAfter(afterReplayId: number, channel?: string): CdcEvent[] {
      purge();
      let lo = 0;
      let hi = events.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (events[mid]!.replayId <= afterReplayId) lo = mid + 1;
        else hi = mid;
      }
      const out = events.slice(lo);
      return channel && channel !== ALL_CHANGE_EVENTS ? out.filter((e) => e.channel === channel) : out;
    },
    /** Whether a subscription may replay after this id (nothing after it was purged, and it was issued). */
    replayable(replayId: number): boolean {
      purge();
      return replayId === -1 || replayId === -2 || (replayId >= purgedUpTo && replayId <= lastReplayId);
    },
    head: () => lastReplayId,
    purgedUpTo: () => purgedUpTo,
    /** Purges every event committed up to now, as if the retention window had passed. */
    purgeAll() {
      if (events.length) purgedUpTo = events.at(-1)!.replayId;
      events.length = 0;
    },
    retainedEvents: () => events.length,
    onEvent(l: (e: CdcEvent) => void) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    committed: () => committed,
    modstamp,
  };
}
