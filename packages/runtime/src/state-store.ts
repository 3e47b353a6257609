// The operator state every worker must agree on: pause/resume targets, restart and reload requests, task
// status and the group's latest assignment. In a group it lives in a compacted Kafka topic (like Kafka
// Connect's config and status topics): any worker can write, every worker follows it, and a worker that
// starts reads it to the end first. A standalone worker keeps it in memory.
//
// Keys (values are JSON; a null value deletes the key):
//   target/<connector>            { state: 'RUNNING' | 'PAUSED', at, by }
//   target/<connector>/<task>     same, for one task
//   restart/<connector>[/<task>]  { id, at, by }            (an event: acted on when it arrives)
//   reload                        { id, at, by }            (an event)
//   status/<connector>/<task>     { state, worker, lastError, at }   (written by the task's owner)
//   assignment                    { at, leader, workers, tasks: { <connector>/<task>: worker } }
import type { JsonValue } from '@tributary/sdk';
import type { KafkaClient, Follower, PlainProducer } from './kafka/client.ts';

export type TargetState = 'RUNNING' | 'PAUSED';

export interface StatusRecord {
  state: string;
  worker: string;
  lastError: string | null;
  at: string;
}

export interface AssignmentRecord {
  at: string;
  leader: string;
  workers: string[];
  tasks: Record<string, string>;
}

export type StateListener = (key: string, value: JsonValue | null, position: number) => void;

export interface StateStore {
  get(key: string): JsonValue | undefined;
  /** Keys starting with `prefix`. */
  keys(prefix: string): string[];
  /** Position (log offset) of the latest record of `key`, -1 when none. */
  positionOf(key: string): number;
  /** Writes a record; resolves once it is durable (it reaches listeners through the log, in order). */
  put(key: string, value: JsonValue | null): Promise<void>;
  /** Records applied from now on, in log order. */
  subscribe(listener: StateListener): () => void;
  close(): Promise<void>;
}

function createMap() {
  const values = new Map<string, JsonValue>();
  const positions = new Map<string, number>();
  const listeners = new Set<StateListener>();
  return {
    values,
    listeners,
    apply(key: string, value: JsonValue | null, position: number, live: boolean) {
      if (value === null) values.delete(key);
      else values.set(key, value);
      positions.set(key, position);
      if (live)
        for (const l of listeners) {
          try {
            l(key, value, position);
          } catch {
            // A listener's fault must not stop the log from being applied.
          }
        }
    },
    view: {
      get: (key: string) => values.get(key),
      keys: (prefix: string) => [...values.keys()].filter((k) => k.startsWith(prefix)),
      positionOf: (key: string) => positions.get(key) ?? -1,
      subscribe(listener: StateListener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
  };
}

/** A standalone worker's state: in memory, gone when the process ends. */
export function memoryStateStore(): StateStore {
  const m = createMap();
  let position = 0;
  return {
    ...m.view,
    async put(key, value) {
      // Asynchronous like the Kafka store, so callers see the same ordering in both modes.
      await Promise.resolve();
      m.apply(key, value, position++, true);
    },
    async close() {},
  };
}

/** The shared state of a group of workers: a compacted topic with one partition (one total order). */
export async function kafkaStateStore(kafka: KafkaClient, topic: string): Promise<StateStore> {
  const m = createMap();
  let live = false;
  let producer: PlainProducer | null = null;
  // A follower that kafkajs restarts after a crash reads the topic from the beginning again: old restart
  // and reload events must not fire twice.
  let applied = -1;
  const follower: Follower = await kafka.follow(topic, (msg) => {
    if (Number(msg.offset) <= applied) return;
    applied = Number(msg.offset);
    if (!msg.key) return;
    let value: JsonValue | null = null;
    try {
      value = msg.value === null ? null : (JSON.parse(msg.value.toString('utf8')) as JsonValue);
    } catch {
      return; // not ours
    }
    m.apply(msg.key, value, Number(msg.offset), live);
  });
  try {
    await follower.caughtUp;
    live = true;
    producer = await kafka.producer();
  } catch (err) {
    await follower.stop();
    throw err;
  }
  const p = producer;
  return {
    ...m.view,
    async put(key, value) {
      await p.send([
        {
          topic,
          partition: 0,
          key,
          value: value === null ? null : Buffer.from(JSON.stringify(value)),
          timestamp: Date.now(),
        },
      ]);
    },
    async close() {
      await follower.stop();
      await p.close();
    },
  };
}

/** A store usable at once whose records arrive when `ready` resolves (the Kafka store reads its topic to
 * the end first): until then reads see nothing and writes wait. */
export function deferredStateStore(ready: Promise<StateStore>): StateStore {
  let store: StateStore | null = null;
  const early = new Set<StateListener>();
  void ready
    .then((s) => {
      store = s;
      for (const l of early) s.subscribe(l);
    })
    .catch(() => {});
  return {
    get: (key) => store?.get(key),
    keys: (prefix) => store?.keys(prefix) ?? [],
    positionOf: (key) => store?.positionOf(key) ?? -1,
    put: async (key, value) => (await ready).put(key, value),
    subscribe(listener) {
      if (store) return store.subscribe(listener);
      early.add(listener);
      return () => {
        early.delete(listener);
      };
    },
    close: async () => {
      await (await ready.catch(() => null))?.close();
    },
  };
}
