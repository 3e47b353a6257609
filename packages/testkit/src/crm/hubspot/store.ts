// The simulator's CRM data: objects per type with every version ever written (so tests can compare the
// topic against the truth), per-property history, archiving, and a search index that lags the writes by a
// configurable delay, as HubSpot's does ("it may take a few moments" before a change is searchable).

/** Who made a change, as HubSpot's property history reports it. */
export interface HubSpotActor {
  sourceType?: string;
  sourceId?: string;
  updatedByUserId?: number;
}

/** How a malformed version is served (deterministic per version, so a test knows what to expect). */
export type HubSpotMalformation = 'non-string-property' | 'bad-created-at' | 'properties-missing';

export interface HubSpotVersion {
  objectType: string;
  id: string;
  /** The last-modified timestamp of this version (epoch ms). */
  ts: number;
  /** Full property snapshot after this change (the values HubSpot would return for it). */
  properties: Record<string, string | null>;
  /** Properties this change set. */
  changed: string[];
  /** Set when this version is served in a broken shape. */
  malformed: HubSpotMalformation | null;
  /** When this version becomes visible to search. */
  visibleAt: number;
  kind: 'create' | 'update' | 'restore';
}

export interface HubSpotHistoryEntry {
  value: string;
  timestamp: number;
  sourceType: string;
  sourceId?: string;
  updatedByUserId?: number;
}

export interface HubSpotObject {
  objectType: string;
  id: string;
  createdAt: number;
  versions: HubSpotVersion[];
  archivedAt: number | null;
  /** Property -> history entries, oldest first. */
  history: Map<string, HubSpotHistoryEntry[]>;
}

export interface HubSpotDelete {
  objectType: string;
  id: string;
  archivedAt: number;
}

export interface MutationOptions {
  /** The last-modified timestamp to stamp (default: now, bumped past the record's previous version). A
   * past value models a change that commits or indexes late. */
  at?: number;
  actor?: HubSpotActor;
  /** Serve this version malformed (default: decided by the simulator's `malformedRate`). */
  malformed?: HubSpotMalformation | false;
}

/** Contacts carry `lastmodifieddate`; every other object type `hs_lastmodifieddate`. */
export function lastModifiedProperty(objectType: string): string {
  return objectType === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate';
}

/** Properties whose values are datetimes (ISO strings in responses, epoch ms or ISO in filters). */
export function isDateProperty(objectType: string, name: string): boolean {
  return name === 'createdate' || name === lastModifiedProperty(objectType) || name === 'hs_createdate';
}

export interface StoreOptions {
  now: () => number;
  indexDelayMs: () => number;
  malformed: () => HubSpotMalformation | null;
  onChange?: (change: StoreChange) => void;
}

export type StoreChange =
  | { kind: 'create' | 'update' | 'restore'; object: HubSpotObject; version: HubSpotVersion }
  | { kind: 'archive'; object: HubSpotObject; archivedAt: number };

export class HubSpotStore {
  private readonly types = new Map<string, Map<string, HubSpotObject>>();
  private readonly deletes: HubSpotDelete[] = [];
  private nextId = 1001;

  constructor(private readonly o: StoreOptions) {}

  /** Objects of a type in id order (ids are allocated increasing, and a Map keeps insertion order). */
  objects(objectType: string): Map<string, HubSpotObject> {
    let m = this.types.get(objectType);
    if (!m) this.types.set(objectType, (m = new Map()));
    return m;
  }

  get(objectType: string, id: string): HubSpotObject | undefined {
    return this.types.get(objectType)?.get(id);
  }

  create(
    objectType: string,
    props: Record<string, string | null> = {},
    opts: MutationOptions = {},
  ): HubSpotVersion {
    const id = String(this.nextId++);
    const at = opts.at ?? this.o.now();
    const obj: HubSpotObject = {
      objectType,
      id,
      createdAt: at,
      versions: [],
      archivedAt: null,
      history: new Map(),
    };
    this.objects(objectType).set(id, obj);
    const base: Record<string, string | null> = {
      hs_object_id: id,
      createdate: new Date(at).toISOString(),
    };
    return this.write(obj, 'create', at, { ...base, ...props }, Object.keys(props), opts);
  }

  update(
    objectType: string,
    id: string,
    props: Record<string, string | null>,
    opts: MutationOptions = {},
  ): HubSpotVersion {
    const obj = this.mustGet(objectType, id);
    if (obj.archivedAt !== null) throw new Error(`${objectType} ${id} is archived`);
    const prev = obj.versions.at(-1)!;
    const at = this.nextTs(obj, opts.at);
    return this.write(obj, 'update', at, { ...prev.properties, ...props }, Object.keys(props), opts);
  }

  archive(objectType: string, id: string, opts: { at?: number } = {}): HubSpotDelete {
    const obj = this.mustGet(objectType, id);
    if (obj.archivedAt !== null) throw new Error(`${objectType} ${id} is already archived`);
    const at = this.nextTs(obj, opts.at);
    obj.archivedAt = at;
    const d = { objectType, id, archivedAt: at };
    this.deletes.push(d);
    this.o.onChange?.({ kind: 'archive', object: obj, archivedAt: at });
    return d;
  }

  /** Restores an archived object: a new version with a new last-modified time, as HubSpot does. */
  restore(objectType: string, id: string, opts: MutationOptions = {}): HubSpotVersion {
    const obj = this.mustGet(objectType, id);
    if (obj.archivedAt === null) throw new Error(`${objectType} ${id} is not archived`);
    const at = this.nextTs(obj, opts.at);
    obj.archivedAt = null;
    const prev = obj.versions.at(-1)!;
    return this.write(obj, 'restore', at, { ...prev.properties }, [], opts);
  }

  /** Every version written for a type, in write order. */
  allVersions(objectType: string): HubSpotVersion[] {
    return [...this.objects(objectType).values()].flatMap((o) => o.versions);
  }

  allDeletes(objectType?: string): HubSpotDelete[] {
    return objectType ? this.deletes.filter((d) => d.objectType === objectType) : [...this.deletes];
  }

  /** The version search shows for an object now: the newest indexed one, none while archived. */
  searchable(obj: HubSpotObject, now: number): HubSpotVersion | undefined {
    if (obj.archivedAt !== null) return undefined;
    for (let i = obj.versions.length - 1; i >= 0; i--) {
      const v = obj.versions[i]!;
      if (v.visibleAt <= now) return v;
    }
    return undefined;
  }

  private mustGet(objectType: string, id: string): HubSpotObject {
    const obj = this.get(objectType, id);
    if (!obj) throw new Error(`no ${objectType} ${id}`);
    return obj;
  }

  /** Last-modified times strictly increase per record, so (id, timestamp) names one version. */
  private nextTs(obj: HubSpotObject, at: number | undefined): number {
    const last = Math.max(obj.versions.at(-1)?.ts ?? 0, obj.archivedAt ?? 0);
    if (at !== undefined) {
      if (at <= last) throw new Error(`${obj.objectType} ${obj.id}: at ${at} is not after ${last}`);
      return at;
    }
    return Math.max(this.o.now(), last + 1);
  }

  private write(
    obj: HubSpotObject,
    kind: HubSpotVersion['kind'],
    at: number,
    properties: Record<string, string | null>,
    changed: string[],
    opts: MutationOptions,
  ): HubSpotVersion {
    const lm = lastModifiedProperty(obj.objectType);
    properties[lm] = new Date(at).toISOString();
    const actor = opts.actor ?? {};
    for (const name of changed) {
      const entries = obj.history.get(name) ?? [];
      const entry: HubSpotHistoryEntry = {
        value: properties[name] ?? '',
        timestamp: at,
        sourceType: actor.sourceType ?? 'API',
      };
      if (actor.sourceId !== undefined) entry.sourceId = actor.sourceId;
      if (actor.updatedByUserId !== undefined) entry.updatedByUserId = actor.updatedByUserId;
      entries.push(entry);
      obj.history.set(name, entries);
    }
    const prev = obj.versions.at(-1);
    // The index never goes backwards: a version is visible no earlier than the one before it.
    const visibleAt = Math.max(prev?.visibleAt ?? 0, at + this.o.indexDelayMs());
    const version: HubSpotVersion = {
      objectType: obj.objectType,
      id: obj.id,
      ts: at,
      properties,
      changed,
      malformed: opts.malformed === false ? null : (opts.malformed ?? this.o.malformed()),
      visibleAt,
      kind,
    };
    obj.versions.push(version);
    this.o.onChange?.({ kind, object: obj, version });
    return version;
  }
}
