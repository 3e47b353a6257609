// Keyed state of the engine: JSON values with an optional event-time expiry, and a record of which keys
// changed since the last flush, so the processor writes exactly those to the compacted changelog topic in
// the same transaction as the alerts and the consumed offsets.
import type { JsonValue } from '@tributary/sdk';

export interface StoredEntry {
  v: JsonValue;
  /** Event time (ms) after which the entry may be dropped; null = kept until deleted. */
  exp: number | null;
}

export interface StateStore {
  get(key: string): JsonValue | undefined;
  /** Sets a value; `expiresAt` is an event time in ms (the entry is swept once the watermark passes it). */
  set(key: string, value: JsonValue, expiresAt?: number | null): void;
  delete(key: string): void;
  has(key: string): boolean;
  /** Drops entries whose expiry is before `watermark`; returns how many. */
  sweep(watermark: number): number;
  /** Changed keys since the last call, with their new entry or null (deleted), and forgets them. */
  takeChanges(): Map<string, StoredEntry | null>;
  /** Restores an entry from the changelog without marking it changed. */
  restore(key: string, entry: StoredEntry | null): void;
  size(): number;
  entries(): IterableIterator<[string, StoredEntry]>;
}

export function createStore(): StateStore {
  const data = new Map<string, StoredEntry>();
  const changed = new Set<string>();
  return {
    get: (key) => data.get(key)?.v,
    has: (key) => data.has(key),
    set(key, value, expiresAt = null) {
      // Reuse the entry object: most sets rewrite a key that exists, and an allocation per set showed up
      // as GC time. Safe because takeChanges' callers serialize the entries before the next set.
      const cur = data.get(key);
      if (cur) {
        cur.v = value;
        cur.exp = expiresAt;
      } else data.set(key, { v: value, exp: expiresAt });
      changed.add(key);
    },
    delete(key) {
      if (data.delete(key)) changed.add(key);
    },
    sweep(watermark) {
      let n = 0;
      for (const [key, e] of data) {
        if (e.exp !== null && e.exp < watermark) {
          data.delete(key);
          changed.add(key);
          n++;
        }
      }
      return n;
    },
    takeChanges() {
      const out = new Map<string, StoredEntry | null>();
      for (const key of changed) out.set(key, data.get(key) ?? null);
      changed.clear();
      return out;
    },
    restore(key, entry) {
      if (entry) data.set(key, entry);
      else data.delete(key);
    },
    size: () => data.size,
    entries: () => data.entries(),
  };
}
