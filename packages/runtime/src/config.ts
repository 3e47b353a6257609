// connectors.config.ts: typed by `defineConfig`, validated at load. Errors name the connector and the
// field path; the CLI turns them into exit code 2.
import { existsSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { secret, secretSchema, type Secret } from '@tributary/sdk';

export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly issues: string[] = [message],
  ) {
    super(message);
  }
}

const connectorName = z
  .string()
  .regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,99}$/, 'letters, digits, ".", "_" and "-" only (max 100)');

export const batchSchema = z.object({
  /** A transaction is committed once it holds this many records... */
  maxRecords: z.number().int().positive().default(1000),
  /** ...or once its first record is this old (ms). */
  maxMs: z.number().int().positive().default(1000),
});

export const connectorSchema = z.object({
  /** Unique name: part of the transactional ids and of the offsets' keys, so renaming starts afresh. */
  name: connectorName,
  /** Source type: a built-in one (the runtime's BUILTIN_SOURCES) or a `worker.plugins` entry. */
  type: z.string().min(1),
  /** Upper bound on tasks; the source decides how to split (e.g. one task per group of partitions). */
  tasksMax: z.number().int().positive().default(1),
  /** When a task's Kafka transaction commits. */
  batch: batchSchema.prefault({}),
  /** Source-specific settings, validated by the source's own schema. */
  config: z.record(z.string(), z.unknown()).default({}),
});

const kafkaSchema = z.object({
  /** `'embedded'` starts a local broker (dev only, needs Java and Maven); KAFKA_BROKERS overrides both. */
  brokers: z.union([
    z.literal('embedded'),
    z.array(z.string().regex(/^[^:\s]+:\d+$/, 'expected host:port')).min(1),
  ]),
  /** Kafka client id (broker logs and quotas). */
  clientId: z.string().default('tributary'),
  /** Connect with TLS. */
  ssl: z.boolean().default(false),
  /** SASL authentication; absent: none. */
  sasl: z
    .object({
      mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']),
      username: z.string(),
      /** A secret: `secretEnv('NAME')`. */
      password: secretSchema,
    })
    .optional(),
  /** Prefix of every transactional id: `<prefix>-<connector>-<task>`. One per cluster of workers. */
  transactionalIdPrefix: z
    .string()
    .regex(/^[a-zA-Z0-9._-]+$/)
    .default('tributary'),
  /** The broker aborts (and fences) a transaction open longer than this: it must exceed every
   * connector's `batch.maxMs` by at least 10 s. At most the broker's `transaction.max.timeout.ms`. */
  transactionTimeoutMs: z.number().int().positive().default(60_000),
  /** Time limit to open a connection to a broker. */
  connectionTimeoutMs: z.number().int().positive().default(3_000),
  /** Time limit of one Kafka request. */
  requestTimeoutMs: z.number().int().positive().default(30_000),
});

const topicsSchema = z.object({
  /** Physical name = prefix + logical name, unless `names` maps it. */
  prefix: z.string().default(''),
  /** Physical names of logical topics, e.g. `{ 'exchange.trades': 'prod.trades' }`; wins over `prefix`. */
  names: z.record(z.string(), z.string()).default({}),
  /** Partitions of the topics the worker creates (existing topics are left as they are). */
  partitions: z.number().int().positive().default(3),
  /** Replication factor of the topics the worker creates, the offsets topic included. */
  replicationFactor: z.number().int().positive().default(1),
  /** Compacted topic of the source offsets, written in the same transactions as the records. */
  offsetsTopic: z.string().default('tributary.offsets'),
  /** Partitions of the offsets topic when the worker creates it. */
  offsetsPartitions: z.number().int().positive().default(5),
  /**
   * Topic configs for topics the worker creates, by logical name ('*' for all). Records carry event time
   * as their Kafka timestamp, so time-based retention would delete backfilled history (a 2011 block)
   * the moment it lands: by default worker-created topics keep data (`retention.ms: -1`) until you set
   * a retention that fits, e.g. `retention.bytes`.
   */
  configs: z.record(z.string(), z.record(z.string(), z.string())).default({ '*': { 'retention.ms': '-1' } }),
});

const groupSchema = z
  .object({
    /** Workers with the same group id share the connectors' tasks; Kafka's group coordinator decides
     * who runs what (a consumer group over the tasks topic). */
    id: z.string().regex(/^[a-zA-Z0-9._-]+$/, 'letters, digits, ".", "_" and "-" only'),
    /** Control topic: one partition per task slot (created and grown by the workers). Default `<id>.tasks`. */
    tasksTopic: z.string().min(1).optional(),
    /** Compacted topic with the shared operator state (pause/resume, restarts, reloads, task status).
     * Default `<id>.state`. */
    stateTopic: z.string().min(1).optional(),
    /** A worker that stops heartbeating is dropped after this long and its tasks move (the move bound).
     * The broker's group.min.session.timeout.ms (6 s by default) is the floor. */
    sessionTimeoutMs: z.number().int().min(1000).default(10_000),
    /** How often a worker heartbeats to the group coordinator; at most half of `sessionTimeoutMs`. */
    heartbeatIntervalMs: z.number().int().positive().default(1_000),
    /** How long a rebalance waits for every live worker to rejoin. */
    rebalanceTimeoutMs: z.number().int().min(1000).default(20_000),
  })
  .refine((g) => g.heartbeatIntervalMs * 2 <= g.sessionTimeoutMs, {
    path: ['heartbeatIntervalMs'],
    message: 'must be at most half of sessionTimeoutMs',
  });

const workerSchema = z.object({
  /** This worker's id in logs, metrics and the operator API. Default: TRIBUTARY_WORKER_ID, else host-pid. */
  id: z
    .string()
    .regex(/^[a-zA-Z0-9._:-]{1,100}$/)
    .optional(),
  /** Present: distributed mode (workers with the same group id share the tasks). Absent: this worker
   * runs every task itself (standalone). */
  group: groupSchema.optional(),
  /** HTTP server for /healthz, /metrics and /status; `false` turns it off. Port 0 picks a free port. */
  http: z
    .union([
      z.literal(false),
      z.object({
        /** Interface to listen on; the default serves this machine only. */
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8083),
      }),
    ])
    .default({ host: '127.0.0.1', port: 8083 }),
  /** A task failing for longer than this turns /healthz red. */
  unhealthyAfterMs: z.number().int().positive().default(60_000),
  /** The web dashboard (served on `worker.http` at `/`). Without this section it shows everything but
   * alerts. */
  dashboard: z
    .object({
      alertsTopic: z
        .string()
        .regex(/^[a-zA-Z0-9._-]+$/, 'a Kafka topic name')
        .optional()
        .describe(
          'Physical name of the alerts topic (e.g. "alerts"): the dashboard reads it with read_committed from a ' +
            'little before its end, then live, and shows the latest alerts with their evidence. Absent: no alerts.',
        ),
      alerts: z
        .number()
        .int()
        .positive()
        .max(1000)
        .default(20)
        .describe('How many of the latest alerts the dashboard keeps in memory and shows.'),
    })
    .optional()
    .describe('Web dashboard settings; the page itself is served whenever worker.http is on.'),
  /** Extra source packages: type -> module specifier exporting `source`. */
  plugins: z.record(z.string(), z.string()).default({}),
});

export const rootSchema = z
  .object({
    kafka: kafkaSchema,
    topics: topicsSchema.prefault({}),
    worker: workerSchema.prefault({}),
    connectors: z.array(connectorSchema).default([]),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.connectors.forEach((c, i) => {
      if (seen.has(c.name))
        ctx.addIssue({
          code: 'custom',
          path: ['connectors', i, 'name'],
          message: `duplicate connector name "${c.name}"`,
        });
      seen.add(c.name);
      // A transaction that outlives transaction.timeout.ms is aborted by the coordinator, which fences the
      // producer: leave room for the slowest commit.
      if (c.batch.maxMs + 10_000 > cfg.kafka.transactionTimeoutMs) {
        ctx.addIssue({
          code: 'custom',
          path: ['connectors', i, 'batch', 'maxMs'],
          message: `must be at least 10 s below kafka.transactionTimeoutMs (${cfg.kafka.transactionTimeoutMs})`,
        });
      }
    });
  });

export type TributaryConfigInput = z.input<typeof rootSchema>;
export type TributaryConfig = z.output<typeof rootSchema>;
export type ConnectorConfig = TributaryConfig['connectors'][number];

/** Typed identity for connectors.config.ts. */
export function defineConfig(config: TributaryConfigInput): TributaryConfigInput {
  return config;
}

/** Reads an environment variable at config load; a missing one without default is a config error. */
export function env(name: string, fallback?: string): string {
  const v = process.env[name];
  if (v !== undefined && v !== '') return v;
  if (fallback !== undefined) return fallback;
  throw new ConfigError(`environment variable ${name} is not set`);
}

/** A secret from the environment: never printed, never logged. */
export function secretEnv(name: string): Secret {
  return secret(env(name));
}

function formatPath(cfg: unknown, path: readonly PropertyKey[]): string {
  // connectors[2] "eth-main": config.rpcUrl
  if (path[0] === 'connectors' && typeof path[1] === 'number') {
    const c = (cfg as { connectors?: { name?: unknown }[] }).connectors?.[path[1]];
    const name = typeof c?.name === 'string' ? ` "${c.name}"` : '';
    const rest = path.slice(2).map(String).join('.');
    return `connectors[${path[1]}]${name}${rest ? `: ${rest}` : ''}`;
  }
  return path.map(String).join('.') || '(root)';
}

export function zodIssues(input: unknown, err: z.ZodError, prefix: readonly PropertyKey[] = []): string[] {
  return err.issues.map((i) => `${formatPath(input, [...prefix, ...i.path])}: ${i.message}`);
}

/** Validates the root shape; source configs are validated by `resolveConnectors`. */
export function parseConfig(input: unknown): TributaryConfig {
  const res = rootSchema.safeParse(input);
  if (!res.success) {
    const issues = zodIssues(input, res.error);
    throw new ConfigError(`invalid configuration:\n  ${issues.join('\n  ')}`, issues);
  }
  const cfg = res.data;
  if (process.env.KAFKA_BROKERS) {
    cfg.kafka.brokers = process.env.KAFKA_BROKERS.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  return cfg;
}

export const DEFAULT_CONFIG_FILE = 'connectors.config.ts';

/** Loads a config module (.ts/.js/.mjs, default export) or a .json file. */
export async function loadConfigFile(
  file = process.env.TRIBUTARY_CONFIG ?? DEFAULT_CONFIG_FILE,
  opts: { fresh?: boolean } = {},
): Promise<{ path: string; raw: unknown }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new ConfigError(`config file not found: ${path}`);
  if (extname(path) === '.json') {
    try {
      return { path, raw: JSON.parse(await readFile(path, 'utf8')) as unknown };
    } catch (err) {
      throw new ConfigError(`${path}: ${(err as Error).message}`);
    }
  }
  // A reload must evaluate the module again: a new query string is a new module to the ESM loader.
  const url = pathToFileURL(path).href + (opts.fresh ? `?reload=${Date.now()}` : '');
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    if (!opts.fresh) throw err;
    throw new ConfigError(`${path}: ${(err as Error).message}`);
  }
  if (mod.default === undefined)
    throw new ConfigError(`${path} has no default export (use \`export default defineConfig({...})\`)`);
  return { path, raw: mod.default };
}
