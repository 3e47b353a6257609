// Connector configuration: org and auth, the objects to capture, CDC channels or polling, the start
// position and the replay-expired policy. Validated at config load; errors name the field.
import { z } from 'zod';
import { secretSchema } from '@tributary/sdk';

const objectName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected an object API name (e.g. Account)');
const fieldName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'expected a field API name');

export const ALL_CHANGE_EVENTS = '/data/ChangeEvents';

/** The standard per-object CDC channel: `Account` -> `/data/AccountChangeEvent`, `Invoice__c` ->
 * `/data/Invoice__ChangeEvent`. */
export function objectChannel(objectType: string): string {
  return objectType.endsWith('__c')
    ? `/data/${objectType.slice(0, -3)}__ChangeEvent`
    : `/data/${objectType}ChangeEvent`;
}

const authSchema = z.discriminatedUnion('type', [
  z.object({
    /** OAuth 2.0 JWT bearer flow: a connected app with a certificate; no secret crosses the wire. */
    type: z.literal('jwt'),
    clientId: z.string().min(1),
    username: z.string().min(1),
    /** PEM private key (PKCS#8 or PKCS#1) matching the connected app's certificate. */
    privateKey: secretSchema,
    /** JWT `aud`; default the login URL (`https://login.salesforce.com` / `https://test.salesforce.com`). */
    audience: z.url().optional(),
  }),
  z.object({
    /** OAuth 2.0 client credentials flow (connected app with a run-as user). */
    type: z.literal('client-credentials'),
    clientId: z.string().min(1),
    clientSecret: secretSchema,
  }),
  z.object({
    /** OAuth 2.0 username-password flow (sandboxes; Salesforce discourages it in production). */
    type: z.literal('password'),
    clientId: z.string().min(1),
    clientSecret: secretSchema,
    username: z.string().min(1),
    password: secretSchema,
    securityToken: secretSchema.optional(),
  }),
]);

export const configSchema = z
  .object({
    /** Where OAuth tokens come from: `https://login.salesforce.com`, `https://test.salesforce.com` or a
     * My Domain URL. */
    loginUrl: z.url().default('https://login.salesforce.com'),
    /** Overrides the token response's `instance_url` (rarely needed). */
    instanceUrl: z.url().optional(),
    /** REST, Bulk and streaming API version. */
    apiVersion: z
      .string()
      .regex(/^\d{2}\.0$/, 'expected a version like 60.0')
      .default('60.0'),
    /** OAuth 2.0 flow and its credentials (secrets: `secretEnv('NAME')`). */
    auth: authSchema,
    /** `cdc`: Change Data Capture streams (with snapshot and replay); `polling`: SOQL on SystemModstamp. */
    mode: z.enum(['cdc', 'polling']).default('cdc'),
    /** Objects to capture. `fields` default to every field the object describes. */
    objects: z
      .array(z.object({ name: objectName, fields: z.array(fieldName).min(1).optional() }))
      .min(1, 'name at least one object'),
    /** CDC channels; default one per object (`/data/<Object>ChangeEvent`). `/data/ChangeEvents` or a custom
     * channel (`/data/<Name>__chn`) carries several objects: objects without a channel of their own belong to
     * the first such channel. One source partition per channel. */
    channels: z
      .array(
        z.string().regex(/^\/data\/[A-Za-z0-9_]+$/, 'expected a CDC channel like /data/AccountChangeEvent'),
      )
      .min(1)
      .optional(),
    /** Position when a channel has no committed offset: `snapshot` (Bulk API 2.0 read of its objects, then
     * the stream from the position taken before it), `-1` (new events) or `-2` (all retained events). */
    start: z.union([z.literal('snapshot'), z.literal(-1), z.literal(-2)]).default('snapshot'),
    /** When the server no longer retains the committed replay id: `resnapshot` (alert, then a new
     * snapshot and the stream from before it) or `fail` (alert, then stop the task). */
    replayExpired: z.enum(['resnapshot', 'fail']).default('resnapshot'),
    /** The org's event retention (72 h for CDC): a stream position older than this is treated as expired
     * even when the server cannot say so (a `-2` resume after a snapshot). */
    retentionMs: z
      .number()
      .int()
      .positive()
      .default(72 * 3600_000),
    /** Events committed this long before the snapshot's first Bulk job are also replayed (clock slack). */
    snapshotOverlapMs: z.number().int().nonnegative().default(5_000),
    /** A GAP_OVERFLOW re-reads rows of its object with SystemModstamp at or after (commit - this): the
     * overflowed transaction stamped its rows before it committed. */
    overflowLookbackMs: z
      .number()
      .int()
      .positive()
      .default(10 * 60_000),
    /** Most events turned into one batch. */
    maxBatchEvents: z.number().int().positive().default(500),
    /** Events received but not yet taken above which the stream stops long-polling until half are taken
     * (a replayed backlog arrives faster than Kafka takes it). */
    maxQueuedEvents: z.number().int().positive().default(10_000),
    /** Bulk API 2.0 query jobs (snapshots and overflow re-reads). */
    bulk: z
      .object({
        /** How often a running job's state is polled. */
        pollIntervalMs: z.number().int().positive().default(1_000),
        /** One wait for a job ends after this long as a failed attempt (retried with `retries`). */
        pollTimeoutMs: z
          .number()
          .int()
          .positive()
          .default(30 * 60_000),
        /** Rows per results page (`maxRecords`); also the most rows in one batch. */
        pageSize: z.number().int().positive().max(100_000).default(10_000),
      })
      .prefault({}),
    /** `mode: 'polling'`: SOQL queries ordered by SystemModstamp. */
    polling: z
      .object({
        /** Pause between polls once an object has caught up. */
        intervalMs: z.number().int().positive().default(10_000),
        /** Rows can commit with a SystemModstamp at or below the cursor; each poll re-reads this far back
         * and skips versions (Id, SystemModstamp) it already wrote. */
        lookbackMs: z.number().int().nonnegative().default(120_000),
        /** Rows per query (`LIMIT`). */
        pageSize: z.number().int().positive().max(2_000).default(2_000),
      })
      .prefault({}),
    /** Faye's reconnect interval after a transport error (jsforce leaves faye's 5 s default). */
    streamingRetrySec: z.number().positive().default(1),
    /** REST/Bulk attempts after the first for retryable faults (429, 5xx, network). */
    retries: z.number().int().nonnegative().default(8),
  })
  .superRefine((c, ctx) => {
    if (c.mode !== 'cdc' || !c.channels) return;
    const seen = new Set<string>();
    c.channels.forEach((ch, i) => {
      if (seen.has(ch)) ctx.addIssue({ code: 'custom', path: ['channels', i], message: `duplicate ${ch}` });
      seen.add(ch);
    });
    const multi = c.channels.filter((ch) => !ch.endsWith('ChangeEvent'));
    c.objects.forEach((o, i) => {
      const own = c.channels!.includes(objectChannel(o.name));
      if (!own && multi.length === 0)
        ctx.addIssue({
          code: 'custom',
          path: ['objects', i, 'name'],
          message: `no channel carries ${o.name}: add ${objectChannel(o.name)} or ${ALL_CHANGE_EVENTS}`,
        });
      if (own && multi.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['objects', i, 'name'],
          message: `${o.name} would arrive twice: on ${objectChannel(o.name)} and on ${multi[0]}`,
        });
    });
  });

export type SalesforceConfig = z.infer<typeof configSchema>;
export type SalesforceConfigInput = z.input<typeof configSchema>;
export type AuthConfig = SalesforceConfig['auth'];

export interface ChannelPlan {
  channel: string;
  /** Objects this channel carries (snapshot and overflow re-reads use their field lists). */
  objects: string[];
}

/** CDC: one partition per channel and the objects each carries. */
export function channelPlan(c: SalesforceConfig): ChannelPlan[] {
  const channels = c.channels ?? c.objects.map((o) => objectChannel(o.name));
  const multi = channels.find((ch) => !ch.endsWith('ChangeEvent'));
  return channels.map((channel) => ({
    channel,
    objects: c.objects
      .map((o) => o.name)
      .filter((n) =>
        channel === objectChannel(n) ? true : channel === multi && !channels.includes(objectChannel(n)),
      ),
  }));
}

/** The source partitions of a config: channels (CDC) or `poll:<Object>` (polling). */
export function partitionsOf(c: SalesforceConfig): string[] {
  return c.mode === 'cdc' ? channelPlan(c).map((p) => p.channel) : c.objects.map((o) => `poll:${o.name}`);
}
