// Waiting on the pipeline, so each story step lands after the one it depends on: a connector has
// committed a source position (from the worker's task status), and the correlation processor's consumer
// group has committed past everything a topic held at that moment. The story never looks at alerts to
// decide anything; it only orders its own steps the way a real attacker's would be spaced in time.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { JsonValue } from '@tributary/sdk';
import { waitUntil } from './wait-until.ts';
import type { TaskStatus } from '@tributary/runtime';

export interface Pipeline {
  /** Resolves once a task of `connector` has committed an offset for which `done` is true. */
  committed(
    connector: string,
    done: (offsets: Record<string, JsonValue>) => boolean,
    signal: AbortSignal,
    timeoutMs?: number,
  ): Promise<void>;
  /** Resolves once the processor's group has committed past the current (committed) end of `topics`. */
  processed(topics: string[], signal: AbortSignal, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function createPipeline(o: {
  brokers: string[];
  groupId: string;
  status: () => TaskStatus[];
}): Pipeline {
  const kafka = new Kafka({
    brokers: o.brokers,
    clientId: 'tributary-demo-story',
    logLevel: logLevel.NOTHING,
  });
  let admin: Promise<Admin> | null = null;
  const connected = () =>
    (admin ??= (async () => {
      const a = kafka.admin();
      await a.connect();
      return a;
    })());

  return {
    committed(connector, done, signal, timeoutMs = 60_000) {
      return waitUntil(
        `${connector} to commit`,
        () => o.status().some((t) => t.connector === connector && done(t.offsets)),
        { signal, timeoutMs },
      );
    },
    async processed(topics, signal, timeoutMs = 60_000) {
      const a = await connected();
      // fetchTopicOffsets lists with read_committed: `high` is the last stable offset.
      const ends = new Map<string, number>();
      for (const topic of topics)
        for (const p of await a.fetchTopicOffsets(topic)) ends.set(`${topic}/${p.partition}`, Number(p.high));
      await waitUntil(
        `the processor to consume ${topics.join(', ')}`,
        async () => {
          try {
            for (const topic of topics) {
              const [group] = await a.fetchOffsets({ groupId: o.groupId, topics: [topic] });
              for (const [key, end] of ends) {
                if (!key.startsWith(`${topic}/`) || end === 0) continue;
                const partition = Number(key.slice(topic.length + 1));
                const at = Number(group?.partitions.find((x) => x.partition === partition)?.offset ?? -1);
                // A transactional topic ends with a commit marker, which the group never commits past:
                // every record before the last stable offset is consumed once the group is at end - 1.
                if (at < end - 1) return false;
              }
            }
            return true;
          } catch {
            return false; // coordinator moving: ask again
          }
        },
        { signal, timeoutMs },
      );
    },
    async close() {
      if (admin) await (await admin).disconnect().catch(() => {});
    },
  };
}
