// Keyed state of the engine: JSON values with an optional event-time expiry, and a record of which keys
// changed since the last flush, so the processor writes exactly those to the compacted changelog topic in
// the same transaction as the alerts and the consumed offsets.
//
// The keys are grouped by prefix into scopes (`r:velocity:`, `cp:`, `id:x:address:` ...), one Map each.
// A scope is addressed by the rest of the key, usually a string that already exists (an address, an
// event id): a lookup then hashes nothing new. With one Map of prefixed keys, every lookup built and
// hashed a fresh concatenated string, which was the largest single cost of the engine. The full key
// (`prefix + rest`) is only built for the changelog, in takeChanges().
import type { JsonValue } from '@tributary/sdk';

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
   * prefix, e.g. restored from the changelog, move into it). Prefixes must not overlap. */
  scope(prefix: string): StateScope;
  /** Drops entries whose expiry is before `watermark`; returns how many. */
  sweep(watermark: number): number;
  /** Changed keys since the last call, with their new entry or null (deleted), and forgets them. */
  takeChanges(): Map<string, StoredEntry | null>;
  /** Restores an entry from the changelog without marking it changed. */
  restore(key: string, entry: StoredEntry | null): void;
  size(): number;
  entries(): IterableIterator<[string, StoredEntry]>;
}

/** A stored entry plus whether its key is already listed as changed. `toJSON` keeps the changelog value
 * `{v, exp}`: the flag is bookkeeping, not state. */
class Slot implements StoredEntry {
  constructor(
    public v: JsonValue,
    public exp: number | null,
    public changed: boolean,
  ) {}
  toJSON(): StoredEntry {
    return { v: this.v, exp: this.exp };
  }
}

interface Scope extends StateScope {
  readonly data: Map<string, StoredEntry>;
  /** Keys set or deleted since the last takeChanges (may repeat: a key deleted and set again). */
  changed: string[];
}

function makeScope(prefix: string): Scope {
  const data = new Map<string, StoredEntry>();
  const scope: Scope = {
    prefix,
    data,
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
        if (cur.changed) return;
        cur.changed = true;
      } else data.set(key, new Slot(value, expiresAt, true));
      scope.changed.push(key);
    },
    delete(key) {
      if (data.delete(key)) scope.changed.push(key);
    },
    size: () => data.size,
    entries: () => data.entries(),
  };
  return scope;
}

/** An entry as the store keeps it (restored entries are plain objects: wrap them). */
function slotOf(entry: StoredEntry): Slot {
  return entry instanceof Slot ? entry : new Slot(entry.v, entry.exp, false);
}

export function createStore(): StateStore {
  // Keys under no registered prefix (and restored keys whose scope is not created yet).
  const loose = makeScope('');
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
    scope(prefix) {
      const existing = scopes.find((s) => s.prefix === prefix);
      if (existing) return existing;
      if (!prefix) throw new Error('a state scope needs a prefix');
      const clash = scopes.find((s) => s.prefix.startsWith(prefix) || prefix.startsWith(s.prefix));
      if (clash) throw new Error(`state scope '${prefix}' overlaps '${clash.prefix}'`);
      const s = makeScope(prefix);
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
            s.data.delete(key);
            s.changed.push(key);
            n++;
          }
        }
      }
      return n;
    },
    takeChanges() {
      const out = new Map<string, StoredEntry | null>();
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
    restore(key, entry) {
      const [s, k] = route(key);
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
