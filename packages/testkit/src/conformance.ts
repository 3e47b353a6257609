// The conformance suite every source package runs: `describeSourceConformance(source, setup)` in a vitest
// file. It checks the Source contract in-process (no Kafka): config validation, declared topics, record
// shape and schema, offsets that resume, prompt stop on abort, stable task ids.
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { pino } from 'pino';
import type { JsonValue, SourceBatch, SourceDefinition } from '@tributary/sdk';
import {
  RECORD_TYPES,
  RECORD_TYPE_HEADER,
  SCHEMA_VERSION_HEADER,
  TOPICS,
  type RecordType,
} from '@tributary/schemas';

export interface ConformanceSetup<Config> {
  /** A valid connector config for this source (may point at a service the setup started). */
  config: unknown;
  /** A config the schema must reject, with the field path it must name. */
  invalid: { config: unknown; path: string };
  /** Batches to read in the first run (enough to cross at least one offset). Default 3. */
  batches?: number;
  /** True when re-running from an offset must reproduce exactly what followed it (deterministic sources,
   * or a chain whose history is fixed). */
  deterministicResume: boolean;
  /** Called after the suite (stop nodes, servers). */
  teardown?: () => Promise<void>;
  /** For typed access in custom checks. */
  _config?: Config;
}

const silent = pino({ level: 'silent' });
const metrics = { lag: () => {}, skipped: () => {} };

async function take<O extends JsonValue>(
  src: SourceDefinition<unknown, unknown, O>,
  taskConfig: unknown,
  offsets: Map<string, O>,
  n: number,
): Promise<SourceBatch<O>[]> {
  const ac = new AbortController();
  const out: SourceBatch<O>[] = [];
  const it = src
    .run({
      connector: 'conformance',
      taskId: 0,
      config: taskConfig,
      offsets,
      signal: ac.signal,
      logger: silent,
      metrics,
    })
    [Symbol.asyncIterator]();
  try {
    while (out.length < n) {
      const r = await it.next();
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    ac.abort();
    await it.return?.(undefined);
  }
  return out;
}

function firstTaskConfig(src: SourceDefinition<unknown, unknown, JsonValue>, config: unknown): unknown {
  return src.tasks ? src.tasks(config, 1)[0]!.config : config;
}

export function describeSourceConformance<Config>(
  source: SourceDefinition<Config, unknown, JsonValue>,
  setup: () => Promise<ConformanceSetup<Config>>,
): void {
  const src = source as unknown as SourceDefinition<unknown, unknown, JsonValue>;
  describe(`source "${source.type}" conformance`, () => {
    let s: ConformanceSetup<Config>;
    let config: unknown;
    beforeAll(async () => {
      s = await setup();
      config = src.configSchema.parse(s.config);
    });
    afterAll(async () => s?.teardown?.());

    it('has a type, a description and a config schema that names the bad field', () => {
      expect(source.type).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(source.description.length).toBeGreaterThan(10);
      const bad = src.configSchema.safeParse(s.invalid.config);
      expect(bad.success).toBe(false);
      expect(bad.error!.issues.map((i) => i.path.join('.'))).toContain(s.invalid.path);
    });

    it('declares only known logical topics', () => {
      const known = new Set<string>(Object.values(TOPICS).map((t) => t.name));
      const topics = src.topics(config);
      expect(topics.length).toBeGreaterThan(0);
      for (const t of topics) expect(known, `unknown topic ${t}`).toContain(t);
    });

    it('splits into tasks with unique, stable ids', () => {
      if (!src.tasks) return expect(src.tasks).toBeUndefined();
      const a = src.tasks(config, 4).map((t) => t.taskId);
      expect(new Set(a).size).toBe(a.length);
      expect(src.tasks(config, 4).map((t) => t.taskId)).toEqual(a);
    });

    it('yields batches of valid, typed, versioned records with JSON offsets', async () => {
      const batches = await take(src, firstTaskConfig(src, config), new Map(), s.batches ?? 3);
      expect(batches.length).toBeGreaterThan(0);
      const allowed = new Set([...src.topics(config), TOPICS.deadLetters.name]);
      for (const b of batches) {
        expect(typeof b.partition).toBe('string');
        expect(JSON.parse(JSON.stringify(b.offset))).toEqual(b.offset);
        for (const r of b.records) {
          expect(allowed).toContain(r.topic);
          expect(Number.isFinite(r.timestamp)).toBe(true);
          const type = r.headers?.[RECORD_TYPE_HEADER] as RecordType | undefined;
          expect(type, 'record type header').toBeDefined();
          expect(RECORD_TYPES[type!].topic).toBe(r.topic);
          expect(r.headers?.[SCHEMA_VERSION_HEADER]).toBe(String(RECORD_TYPES[type!].version));
          expect(r.value instanceof Uint8Array).toBe(false);
          RECORD_TYPES[type!].schema.parse(r.value);
        }
      }
    });

    it('resumes from an offset with what followed it', async () => {
      const n = s.batches ?? 3;
      const taskConfig = firstTaskConfig(src, config);
      // Read well past the cut: batches of several partitions interleave.
      const first = await take(src, taskConfig, new Map(), n * 4 + 4);
      expect(first.length).toBeGreaterThan(1);
      const cut = Math.min(n, first.length - 1);
      const offsets = new Map<string, JsonValue>();
      for (const b of first.slice(0, cut)) offsets.set(b.partition, b.offset);
      const resumed = await take(src, taskConfig, offsets, 1);
      expect(resumed).toHaveLength(1);
      const later = first.slice(cut).find((b) => b.partition === resumed[0]!.partition);
      if (s.deterministicResume) {
        expect(later).toBeDefined();
        expect(resumed[0]!.records.map((r) => r.value)).toEqual(later!.records.map((r) => r.value));
      } else {
        // At least: nothing from before the offset comes again.
        const before = new Set(
          first.slice(0, cut).flatMap((b) => b.records.map((r) => JSON.stringify(r.value))),
        );
        for (const r of resumed[0]!.records) expect(before.has(JSON.stringify(r.value))).toBe(false);
      }
    });

    it('stops promptly when its signal aborts', async () => {
      const ac = new AbortController();
      const it = src
        .run({
          connector: 'conformance',
          taskId: 0,
          config: firstTaskConfig(src, config),
          offsets: new Map(),
          signal: ac.signal,
          logger: silent,
          metrics,
        })
        [Symbol.asyncIterator]();
      await it.next();
      ac.abort();
      const started = Date.now();
      // Drain: the iterator must end (or throw the abort reason) without another long wait.
      await (async () => {
        for (let i = 0; i < 10_000; i++) if ((await it.next()).done) return;
        throw new Error('iterator kept yielding after abort');
      })().catch((err: unknown) => {
        if (!ac.signal.aborted || err !== ac.signal.reason) throw err;
      });
      expect(Date.now() - started).toBeLessThan(5_000);
    });
  });
}
