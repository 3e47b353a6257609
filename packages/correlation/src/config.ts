// Processor / backtest configuration (JSON file), validated.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TOPICS } from '@tributary/schemas';
import { DEFAULT_INPUT_TOPICS, type InputTopics } from './events.ts';
import { identityConfig, DEFAULT_IDENTITY } from './identity.ts';
import { DEFAULT_MAX_BYTES_PER_PARTITION, type OutputTopics, type ProcessorOptions } from './processor.ts';
import type { Mode, Rule } from './dsl.ts';
import { catalogue, type CatalogueParams } from './rules/index.ts';
import { chainedAlertsOf } from './route.ts';
import { ms } from './time.ts';

const duration = z.union([z.string(), z.number()]).refine((d) => {
  try {
    ms(d);
    return true;
  } catch {
    return false;
  }
}, 'expected a duration such as 90s, 15m, 24h, 30d');

export const correlationConfig = z.object({
  brokers: z.array(z.string()).min(1),
  clientId: z.string().default('tributary-correlation'),
  groupId: z.string().default('tributary-correlation'),
  transactionalId: z.string().optional(),
  /** Prepended to every topic name (tests, multi-tenant clusters). */
  topicPrefix: z.string().default(''),
  inputs: z
    .object({
      transfers: z.string(),
      transactions: z.string(),
      trades: z.string(),
      crm: z.string(),
      watchlist: z.string(),
      alerts: z.string(),
    })
    .partial()
    .default({}),
  outputs: z
    .object({ alerts: z.string(), testAlerts: z.string(), changelog: z.string(), deadLetters: z.string() })
    .partial()
    .default({}),
  outputPartitions: z.number().int().positive().default(1),
  /** Scale out by partitions (inputs keyed by entity and co-partitioned): one task per partition number,
   * shared by the instances of the group. See the README. */
  partitioned: z.boolean().default(false),
  /** Re-key the inputs by entity (see the README): `correlation rekey` writes the by-entity topic and
   * `correlation run` reads it, partitioned (implied), one task per partition. */
  rekey: z
    .object({
      partitions: z.number().int().positive(),
      topic: z.string().default('correlation.by-entity'),
      changelog: z.string().default('correlation.rekey.changelog'),
    })
    .optional(),
  identity: identityConfig.optional(),
  watchlists: z
    .array(z.object({ path: z.string(), format: z.enum(['ofac-sdn', 'csv']), listId: z.string().optional() }))
    .default([]),
  watchlistPollMs: z.number().int().positive().optional(),
  allowedLateness: duration.default('1h'),
  /** How far one input partition may run ahead of the others in event time (default: half the lateness). */
  maxSkew: duration.optional(),
  transactionTimeoutMs: z.number().int().positive().default(60_000),
  sessionTimeoutMs: z.number().int().min(6_000).default(30_000),
  maxBytesPerPartition: z.number().int().positive().default(DEFAULT_MAX_BYTES_PER_PARTITION),
  rules: z
    .object({
      /** Per-rule parameter overrides (see README), keyed like `catalogue()`'s parameter. */
      params: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
      /** Mode per rule id: active | test | disabled. */
      modes: z.record(z.string(), z.enum(['active', 'test', 'disabled'])).default({}),
    })
    .default({ params: {}, modes: {} }),
});
export type CorrelationConfig = z.infer<typeof correlationConfig>;

export function loadConfig(path: string): CorrelationConfig {
  return correlationConfig.parse(JSON.parse(readFileSync(path, 'utf8')));
}

/** The physical topics: the defaults, overridden by `inputs`/`outputs`, under `topicPrefix`. */
export function topicsOf(c: Pick<CorrelationConfig, 'topicPrefix' | 'inputs' | 'outputs'>): {
  inputs: InputTopics;
  outputs: OutputTopics;
} {
  const p = c.topicPrefix;
  const inputs = { ...DEFAULT_INPUT_TOPICS, ...c.inputs };
  return {
    inputs: Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, p + v])) as unknown as InputTopics,
    outputs: {
      alerts: p + (c.outputs.alerts ?? 'alerts'),
      testAlerts: p + (c.outputs.testAlerts ?? 'alerts.test'),
      changelog: p + (c.outputs.changelog ?? 'correlation.changelog'),
      deadLetters: p + (c.outputs.deadLetters ?? TOPICS.deadLetters.name),
    },
  };
}

/** The catalogue with the configured parameters and modes. Parameters are validated by the rule
 * factories (durations, ids) when the rules are built. */
export function rulesOf(c: CorrelationConfig): Rule[] {
  const params = c.rules.params as Partial<CatalogueParams>;
  return catalogue(params).map((r) => ({ ...r, mode: (c.rules.modes[r.id] as Mode | undefined) ?? r.mode }));
}

export function identityOf(c: CorrelationConfig) {
  return c.identity ?? DEFAULT_IDENTITY;
}

/** What `runProcessor` takes for this config: its topics, the catalogue with the config's parameters and
 * modes, and its settings; the caller adds the logger, the stop signal and a commit callback. */
export function processorOptionsOf(
  c: CorrelationConfig,
  run: Pick<ProcessorOptions, 'logger' | 'signal' | 'onCommit' | 'onRestart'>,
): ProcessorOptions {
  return {
    brokers: c.brokers,
    clientId: c.clientId,
    groupId: c.groupId,
    ...(c.transactionalId ? { transactionalId: c.transactionalId } : {}),
    ...topicsOf(c),
    outputPartitions: c.outputPartitions,
    partitioned: c.partitioned,
    ...(c.rekey
      ? { byEntity: { topic: c.topicPrefix + c.rekey.topic, partitions: c.rekey.partitions } }
      : {}),
    rules: rulesOf(c),
    identity: identityOf(c),
    watchlistFiles: c.watchlists,
    ...(c.watchlistPollMs ? { watchlistPollMs: c.watchlistPollMs } : {}),
    ...timingOf(c),
    ...run,
  };
}

/** Event time and Kafka settings, the same for the processor and the rekey stage. */
function timingOf(c: CorrelationConfig) {
  return {
    allowedLateness: c.allowedLateness,
    ...(c.maxSkew !== undefined ? { maxSkew: c.maxSkew } : {}),
    transactionTimeoutMs: c.transactionTimeoutMs,
    sessionTimeoutMs: c.sessionTimeoutMs,
    maxBytesPerPartition: c.maxBytesPerPartition,
  };
}

/** The rekey stage for this config (`correlation rekey`): a group and transactional id of its own
 * (`<groupId>-rekey`), no rules, its identity graph in its own changelog, and the alerts the config's
 * cross-entity rules consume routed to their tasks. */
export function rekeyOptionsOf(
  c: CorrelationConfig,
  run: Pick<ProcessorOptions, 'logger' | 'signal' | 'onCommit' | 'onRestart'>,
): ProcessorOptions {
  if (!c.rekey) throw new Error('the config has no "rekey" section');
  const chainedAlerts = chainedAlertsOf(rulesOf(c));
  const { inputs, outputs } = topicsOf(c);
  return {
    brokers: c.brokers,
    clientId: `${c.clientId}-rekey`,
    groupId: `${c.groupId}-rekey`,
    transactionalId: `${c.groupId}-rekey`,
    inputs,
    outputs: { ...outputs, changelog: c.topicPrefix + c.rekey.changelog },
    rules: [],
    identity: identityOf(c),
    rekey: { topic: c.topicPrefix + c.rekey.topic, partitions: c.rekey.partitions, chainedAlerts },
    ...timingOf(c),
    ...run,
  };
}
