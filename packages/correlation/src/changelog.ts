// The state changelog: a compacted topic, key = state key, value = JSON {v, exp} or a tombstone. Written
// in the same transaction as the alerts and the consumed offsets; read back (read_committed) on start.
import type { Kafka, Message } from 'kafkajs';
import { readToEnd } from './read-to-end.ts';
import type { StateStore, StoredEntry } from './store.ts';

/** The changelog records of a batch's state changes. `serialize` writes a value (default: JSON); the engine
 * passes its own, which writes retained events as references (engine.serialize). */
export function changelogMessages(
  changes: Map<string, StoredEntry | null>,
  serialize: (key: string, entry: StoredEntry) => string = (_key, entry) => JSON.stringify(entry),
): Message[] {
  const out: Message[] = [];
  for (const [key, entry] of changes) out.push({ key, value: entry ? serialize(key, entry) : null });
  return out;
}

/** Reads every committed record of `topic` up to its last stable offset into `store`; returns the count. */
export async function restoreChangelog(
  kafka: Kafka,
  topic: string,
  store: StateStore,
  signal: AbortSignal,
): Promise<number> {
  return readToEnd(
    kafka,
    [topic],
    (m) => {
      if (m.key)
        store.restore(
          m.key.toString('utf8'),
          m.value ? (JSON.parse(m.value.toString('utf8')) as StoredEntry) : null,
        );
    },
    signal,
  );
}
