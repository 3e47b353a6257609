// Keyed state of the engine: JSON values with an optional event-time expiry, and a record of which keys
// changed since the last flush, so the processor writes exactly those to the compacted changelog topic in
// the same transaction as the alerts and the consumed offsets.
//
// The keys are grouped by prefix into scopes (`r:velocity:`, `cp:`, `id:x:address:` ...), one Map each.
// A scope is addressed by the rest of the key, usually a string that already exists (an address, an
// event id): a lookup then hashes nothing new. With one Map of prefixed keys, every lookup built and
// hashed a fresh concatenated string, which was the largest single cost of the engine. The full key
// (`prefix + rest`) is only built for the changelog, in takeChanges().
//
// In a scope created with `byAddress` (the engine's rule state), a key that names an address (ends in one:
// `acct:0x…`, `address:0x…`) goes to the changelog in one record per address, `g:<address>` =
// `{"g": {<state key>: {v, exp}, …}}`, instead of one record per key: a transfer changes the balance, the
// last deposit, the velocity window and the payment candidates of its addresses, and every changelog
// record has a fixed cost in kafkajs and the broker. The engine's own scopes (counterparties, re-screen
// buffer, identity) stay one record per key: a hub's counterparty map is large and must not be rewritten
// with every inflow.
import type { JsonValue } from '@tributary/sdk';
import { addressTail } from './address.ts';

export interface StoredEntry {
  v: JsonValue;
  /** Event time (ms) after which the entry may be dropped; null = kept until deleted. */
  exp: number | null;
}

/** The keys under one prefix, addressed without the prefix. */
export interface StateScope {
  readonly prefix: string;
  get(key: string): JsonValue | undefined;
  /** The value with its expiry. */
  entry(key: string): StoredEntry | undefined;
  /** Sets a value; `expiresAt` is an event time in ms (the entry is swept once the watermark passes it). */
  set(key: string, value: JsonValue, expiresAt?: number | null): void;
  delete(key: string): void;
  has(key: string): boolean;
  size(): number;
  /** Entries of this scope, keys without the prefix. */
  entries(): IterableIterator<[string, StoredEntry]>;
}

export interface StateStore {
  get(key: string): JsonValue | undefined;
  /** Sets a value; `expiresAt` is an event time in ms (the entry is swept once the watermark passes it). */
  set(key: string, value: JsonValue, expiresAt?: number | null): void;
  delete(key: string): void;
  has(key: string): boolean;
  /** The scope of every key starting with `prefix` (created on first use; keys already stored under the
   * prefix, e.g. restored from the changelog, move into it). Prefixes must not overlap. `byAddress`: keys
   * that name an address go to the changelog grouped by address (see the top of the file). */
  scope(prefix: string, opts?: { byAddress?: boolean }): StateScope;
  /** Drops entries whose expiry is before `watermark`; returns how many. */
  sweep(watermark: number): number;
  /** Changed changelog records since the last call, with their new value or null (deleted), and forgets
   * them: a state key with its entry, or an address group (`g:<address>`) with all its entries. */
  takeChanges(): Map<string, StoredEntry | StoredGroup | null>;
  /** Restores a changelog record (a key's entry or a group) without marking it changed. */
  restore(key: string, value: StoredEntry | StoredGroupJson | null): void;
  size(): number;
  entries(): IterableIterator<[string, StoredEntry]>;
}

/** The changelog record of an address group: every live entry of the address's rule state, by full key. */
export interface StoredGroup {
  members: Map<string, StoredEntry>;
}
/** A group record as read back from the changelog: members by their key without the address (the
 * record's key, `g:<address>`, holds it once). */
export interface StoredGroupJson {
  g: Record<string, StoredEntry>;
}
export const GROUP_PREFIX = 'g:';

interface Group extends StoredGroup {
  key: string;
  members: Map<string, Slot>;
  /** Listed in the store's changed groups. */
  queued: boolean;
}

/** A stored entry plus whether its key is already listed as changed, and its address group if it has one.
 * `toJSON` keeps the changelog value `{v, exp}`: the rest is bookkeeping, not state. */
class Slot implements StoredEntry {
  constructor(
    public v: JsonValue,
    public exp: number | null,
    public changed: boolean,
    public group: Group | null,
  ) {}
  toJSON(): StoredEntry {
    return { v: this.v, exp: this.exp };
  }
}

/** Address groups of one store, and the ones changed since the last takeChanges. */
interface Groups {
  /** The group of the address `key` ends in (created on first use), or null. */
  of(key: string): Group | null;
  get(key: string): Group | undefined;
  create(key: string): Group;
  drop(key: string): void;
  queue(g: Group): void;
  take(): Group[];
}

function makeGroups(): Groups {
  const all = new Map<string, Group>();
  let queued: Group[] = [];
  const create = (key: string): Group => {
    const g: Group = { key, members: new Map(), queued: false };
    all.set(key, g);
    return g;
  };
  return {
    of(key) {
      const address = addressTail(key);
      if (address === null) return null;
      const gk = GROUP_PREFIX + address;
      return all.get(gk) ?? create(gk);
    },
    get: (key) => all.get(key),
    create,
    drop: (key) => void all.delete(key),
    queue(g) {
      if (g.queued) return;
      g.queued = true;
      queued.push(g);
    },
    take() {
      const out = queued;
      queued = [];
      for (const g of out) g.queued = false;
      return out;
    },
  };
}

interface Scope extends StateScope {
  readonly data: Map<string, StoredEntry>;
  readonly byAddress: boolean;
  /** Keys set or deleted since the last takeChanges (may repeat: a key deleted and set again). */
  changed: string[];
}

function makeScope(prefix: string, groups: Groups, byAddress: boolean): Scope {
  const data = new Map<string, StoredEntry>();
  const scope: Scope = {
    prefix,
    data,
    byAddress,
    changed: [],
    get: (key) => data.get(key)?.v,
    entry: (key) => data.get(key),
    has: (key) => data.has(key),
    set(key, value, expiresAt = null) {
      // Reuse the entry object: most sets rewrite a key that exists, and an allocation per set showed up
      // as GC time. Safe because takeChanges' callers serialize the entries before the next set. The
      // slot's flag replaces a Set of changed keys: adding to that large Set on every write was a second
      // random memory access per write.
      const cur = data.get(key) as Slot | undefined;
      if (cur) {
        cur.v = value;
        cur.exp = expiresAt;
        if (cur.group) return groups.queue(cur.group);
        if (cur.changed) return;
        cur.changed = true;
      } else {
        const g = byAddress ? groups.of(key) : null;
        const slot = new Slot(value, expiresAt, g === null, g);
        data.set(key, slot);
        if (g) {
          g.members.set(prefix + key, slot);
          return groups.queue(g);
        }
      }
      scope.changed.push(key);
    },
    delete(key) {
      const cur = data.get(key) as Slot | undefined;
      if (!cur) return;
      data.delete(key);
      if (!cur.group) return void scope.changed.push(key);
      cur.group.members.delete(prefix + key);
      groups.queue(cur.group);
    },
    size: () => data.size,
    entries: () => data.entries(),
  };
  return scope;
}

/** An entry as the store keeps it (restored entries are plain objects: wrap them). */
function slotOf(entry: StoredEntry, group: Group | null = null): Slot {
  return entry instanceof Slot ? entry : new Slot(entry.v, entry.exp, false, group);
}

export function createStore(): StateStore {
  const groups = makeGroups();
  // Keys under no registered prefix (and restored keys whose scope is not created yet).
  const loose = makeScope('', groups, false);
  const scopes: Scope[] = [];
  const all = (): Scope[] => [...scopes, loose];

  /** The scope holding a full key, and the key within it. */
  function route(key: string): [Scope, string] {
    for (const s of scopes) if (key.startsWith(s.prefix)) return [s, key.slice(s.prefix.length)];
    return [loose, key];
  }

  return {
    get(key) {
      const [s, k] = route(key);
      return s.get(k);
    },
    has(key) {
      const [s, k] = route(key);
      return s.has(k);
    },
    set(key, value, expiresAt) {
      const [s, k] = route(key);
      s.set(k, value, expiresAt);
    },
    delete(key) {
      const [s, k] = route(key);
      s.delete(k);
    },
    scope(prefix, opts) {
      const byAddress = opts?.byAddress ?? false;
      const existing = scopes.find((s) => s.prefix === prefix);
      if (existing) {
        if (existing.byAddress !== byAddress)
          throw new Error(`state scope '${prefix}' exists with byAddress ${existing.byAddress}`);
        return existing;
      }
      if (!prefix) throw new Error('a state scope needs a prefix');
      const clash = scopes.find((s) => s.prefix.startsWith(prefix) || prefix.startsWith(s.prefix));
      if (clash) throw new Error(`state scope '${prefix}' overlaps '${clash.prefix}'`);
      const s = makeScope(prefix, groups, byAddress);
      // Claim the keys stored under the prefix before the scope existed (restore, full-key sets).
      for (const [k, entry] of loose.data) {
        if (!k.startsWith(prefix)) continue;
        s.data.set(k.slice(prefix.length), entry);
        loose.data.delete(k);
      }
      const stay: string[] = [];
      for (const k of loose.changed) {
        if (k.startsWith(prefix)) s.changed.push(k.slice(prefix.length));
        else stay.push(k);
      }
      loose.changed = stay;
      scopes.push(s);
      return s;
    },
    sweep(watermark) {
      let n = 0;
      for (const s of all()) {
        for (const [key, e] of s.data) {
          if (e.exp !== null && e.exp < watermark) {
            s.delete(key);
            n++;
          }
        }
      }
      return n;
    },
    takeChanges() {
      const out = new Map<string, StoredEntry | StoredGroup | null>();
      for (const g of groups.take()) {
        if (g.members.size > 0) out.set(g.key, g);
        else {
          out.set(g.key, null);
          groups.drop(g.key);
        }
      }
      for (const s of all()) {
        for (const key of s.changed) {
          const slot = s.data.get(key) as Slot | undefined;
          if (slot) slot.changed = false;
          out.set(s.prefix + key, slot ?? null);
        }
        s.changed = [];
      }
      return out;
    },
    restore(key, value) {
      if (key.startsWith(GROUP_PREFIX)) {
        // The record holds the group's whole state: members it no longer lists are gone.
        const address = key.slice(GROUP_PREFIX.length);
        const incoming = value === null ? null : (value as StoredGroupJson).g;
        const old = groups.get(key);
        if (old)
          for (const fk of old.members.keys()) {
            if (incoming && Object.hasOwn(incoming, fk.slice(0, fk.length - address.length))) continue;
            const [s, k] = route(fk);
            s.data.delete(k);
          }
        if (!incoming) return groups.drop(key);
        const g = old ?? groups.create(key);
        g.members.clear();
        for (const [member, entry] of Object.entries(incoming)) {
          const fk = member + address;
          const [s, k] = route(fk);
          const slot = slotOf(entry, g);
          s.data.set(k, slot);
          g.members.set(fk, slot);
        }
        return;
      }
      const [s, k] = route(key);
      // A key a group record holds is the group's (a per-key record of it is older: it was written before
      // the key was deleted and came back in the group, and may be read after the group's record).
      if ((s.data.get(k) as Slot | undefined)?.group) return;
      const entry = value as StoredEntry | null;
      if (entry) s.data.set(k, slotOf(entry));
      else s.data.delete(k);
    },
    size() {
      let n = 0;
      for (const s of all()) n += s.data.size;
      return n;
    },
    *entries() {
      for (const s of all()) for (const [k, e] of s.data) yield [s.prefix + k, e];
    },
  };
}
