// The state changelog: a compacted topic, key = state key, value = JSON {v, exp} or a tombstone. Written
// in the same transaction as the alerts and the consumed offsets; read back (read_committed) on start.
import type { Kafka, Message } from 'kafkajs';
import { readToEnd } from './read-to-end.ts';
import {
  GROUP_PREFIX,
  type StateStore,
  type StoredEntry,
  type StoredGroup,
  type StoredGroupJson,
} from './store.ts';

/** The changelog records of a batch's state changes. `serialize` writes a value (default: JSON); the engine
 * passes its own, which writes retained events as references (engine.serialize). */
export function changelogMessages(
  changes: Map<string, StoredEntry | StoredGroup | null>,
  serialize: (key: string, entry: StoredEntry) => string = (_key, entry) => JSON.stringify(entry),
): Message[] {
  const out: Message[] = [];
  for (const [key, change] of changes) {
    if (change === null) out.push({ key, value: null });
    else if ('members' in change) {
      // `{"g":{<key without the address>:<entry>,…}}`, each entry written as it would be on its own; the
      // address is the record key's (store.ts).
      const cut = key.length - GROUP_PREFIX.length;
      let value = '{"g":{';
      let first = true;
      for (const [k, entry] of change.members) {
        value += (first ? '' : ',') + JSON.stringify(k.slice(0, k.length - cut)) + ':' + serialize(k, entry);
        first = false;
      }
      out.push({ key, value: value + '}}' });
    } else out.push({ key, value: serialize(key, change) });
  }
  return out;
}

/** Reads every committed record of `topic` (of its partition `partition` only, if given) up to its last
 * stable offset into `store`; returns the count. */
export async function restoreChangelog(
  kafka: Kafka,
  topic: string,
  store: StateStore,
  signal: AbortSignal,
  partition?: number,
): Promise<number> {
  return readToEnd(
    kafka,
    [topic],
    (m) => {
      if (m.key)
        store.restore(
          m.key.toString('utf8'),
          m.value ? (JSON.parse(m.value.toString('utf8')) as StoredEntry | StoredGroupJson) : null,
        );
    },
    signal,
    partition === undefined ? undefined : [partition],
  );
}
