// The connector's config block: where HubSpot is, how to authenticate, which object types to poll, and the
// knobs of the polling algorithm (fence, lookback, windows) and of the optional webhook receiver.
import { z } from 'zod';
import { secretSchema } from '@tributary/sdk';

const propertyName = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected a HubSpot property name');

export const objectConfigSchema = z.object({
  /** `contacts`, `companies`, `deals`, `tickets`, ... or a custom object type id such as `2-1234567`. */
  type: z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected an object type such as contacts or 2-1234567'),
  /** Properties to read (in addition to id, created and last-modified). Empty: HubSpot's defaults. */
  properties: z.array(propertyName).default([]),
  /** Properties whose old and new values are taken from property history on every change. */
  sensitiveProperties: z.array(propertyName).default([]),
  /** Override the last-modified property (default: `lastmodifieddate` for contacts, else `hs_lastmodifieddate`). */
  lastModifiedProperty: propertyName.optional(),
});

const auth = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('private-app'), accessToken: secretSchema }),
  z.object({
    kind: z.literal('oauth'),
    clientId: z.string().min(1),
    clientSecret: secretSchema,
    refreshToken: secretSchema,
  }),
]);

export const webhookConfigSchema = z.object({
  /** Interface the receiver listens on. */
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535),
  /** Path HubSpot posts to. */
  path: z.string().startsWith('/').default('/webhooks/hubspot'),
  /** The app's client secret: the key of the v3 signature. */
  clientSecret: secretSchema,
  /** The URL HubSpot posts to (scheme, host, path as HubSpot sees them; needed behind a proxy). Default:
   * `http://<Host header><path>`. */
  publicUrl: z.url().optional(),
  /** Reject requests whose X-HubSpot-Request-Timestamp is older than this (HubSpot: 5 minutes). */
  maxAgeMs: z.number().int().positive().default(300_000),
  /** Delivered event keys remembered (in the committed offset) to drop HubSpot's redeliveries. */
  dedupeKeys: z.number().int().min(100).max(50_000).default(5_000),
  /** Answer 503 (HubSpot retries) when the events are not committed within this time. */
  ackTimeoutMs: z.number().int().positive().default(10_000),
  /** Larger request bodies are refused with 413. */
  maxBodyBytes: z
    .number()
    .int()
    .positive()
    .default(2 * 1024 * 1024),
});

export const configSchema = z
  .object({
    /** `basePath` of @hubspot/api-client; a simulator's URL in tests. */
    baseUrl: z.url().default('https://api.hubapi.com'),
    /** A private app's access token, or OAuth with a refresh token (secrets: `secretEnv('NAME')`). */
    auth,
    /** Object types to poll; each is one source partition. */
    objects: z.array(objectConfigSchema).min(1),
    /** Where a partition without an offset starts: every current record, only changes from now, or a time. */
    startFrom: z.union([z.enum(['beginning', 'now']), z.iso.datetime({ offset: true })]).default('beginning'),
    /** Pause between polls once every object type has caught up with the fence. */
    pollIntervalMs: z.number().int().min(10).default(5_000),
    /** Upper fence: only changes at least this old are read, so the search index has caught up with them. */
    settleMs: z.number().int().min(0).default(5_000),
    /** Each time range is searched a second time once it is this much older than the fence, catching
     * changes indexed late; 0 turns the second pass off. */
    lookbackMs: z.number().int().min(0).default(60_000),
    /** Versions remembered for the lookback's dedupe (they live in the committed offset). Past it the
     * lookback is cut short with a warning. */
    maxSeenVersions: z.number().int().min(100).max(100_000).default(20_000),
    /** Records per search window; the search API cannot page past 10,000. */
    windowMaxRecords: z.number().int().min(10).max(10_000).default(10_000),
    /** Search page size (HubSpot: at most 200). */
    pageSize: z.number().int().min(1).max(200).default(200),
    /** Records per yielded batch. */
    batchMaxRecords: z.number().int().min(1).default(500),
    /** Deletes: the archived list of each object type, polled as `delete` changes. */
    archived: z
      .object({
        enabled: z.boolean().default(true),
        /** The archived list has no time filter: each poll pages all of it, so it runs less often. */
        intervalMs: z.number().int().min(10).default(60_000),
      })
      .prefault({}),
    rateLimits: z
      .object({
        /** Search requests per second (HubSpot: 4 per token). Split between tasks. */
        searchPerSecond: z.number().positive().default(4),
        /** Other requests per rolling 10 s (HubSpot: 100 to 250 by tier, shared by every app). */
        requestsPerTenSeconds: z.number().int().positive().default(100),
        /** Pause after a 429 DAILY without Retry-After (the cap resets at midnight in the portal's zone). */
        dailyLimitPauseMs: z.number().int().positive().default(3_600_000),
      })
      .prefault({}),
    /** Present: a webhook receiver runs as one more task, next to the polling tasks. */
    webhook: webhookConfigSchema.optional(),
  })
  .superRefine((c, ctx) => {
    const seen = new Set<string>();
    c.objects.forEach((o, i) => {
      if (seen.has(o.type))
        ctx.addIssue({
          code: 'custom',
          path: ['objects', i, 'type'],
          message: `duplicate object type ${o.type}`,
        });
      seen.add(o.type);
      // The search body (filters + property list) must stay under HubSpot's 3,000 characters.
      const chars = JSON.stringify([...o.properties, ...o.sensitiveProperties]).length;
      if (chars > 2_000)
        ctx.addIssue({
          code: 'custom',
          path: ['objects', i, 'properties'],
          message: `property list is ${chars} characters; a search body must stay under 3,000`,
        });
    });
  });

export type HubSpotConfig = z.output<typeof configSchema>;
export type ObjectConfig = z.output<typeof objectConfigSchema>;
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

/** What one task runs: some object types to poll, or the webhook receiver. */
export type TaskConfig =
  | { role: 'poll'; config: HubSpotConfig; objects: ObjectConfig[]; share: number }
  | { role: 'webhook'; config: HubSpotConfig; webhook: WebhookConfig };

export function lastModifiedOf(o: ObjectConfig): string {
  return o.lastModifiedProperty ?? (o.type === 'contacts' ? 'lastmodifieddate' : 'hs_lastmodifieddate');
}
