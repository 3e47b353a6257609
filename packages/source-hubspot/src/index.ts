// HubSpot CRM changes: incremental polling of object types through the CRM v3 search API (one source
// partition per object type, offset (lastmodified, id)), deletes from the archived list, old and new values
// of sensitive properties from property history, and an optional webhook receiver.
import { TOPICS } from '@tributary/schemas';
import { defineSource, type JsonValue, type SourceBatch, type TaskSpec } from '@tributary/sdk';
import { createHubSpotApi } from './client.ts';
import { configSchema, type HubSpotConfig, type TaskConfig } from './config.ts';
import { pollObjects } from './poll.ts';
import { receiveWebhooks } from './webhook-receiver.ts';

/** Task id of the webhook receiver: fixed, so adding or removing polling tasks never renames it. */
export const WEBHOOK_TASK_ID = 999;

export const source = defineSource<HubSpotConfig, TaskConfig, JsonValue>({
  type: 'hubspot',
  description:
    'HubSpot CRM record changes: incremental search polling per object type (deletes, property history) and optional webhooks',
  configSchema,
  topics: () => [TOPICS.crmChanges.name, TOPICS.deadLetters.name],
  tasks(config, tasksMax) {
    const n = Math.max(1, Math.min(config.objects.length, tasksMax - (config.webhook ? 1 : 0)));
    const specs: TaskSpec<TaskConfig>[] = Array.from({ length: n }, (_, i) => ({
      taskId: i,
      config: {
        role: 'poll',
        config,
        objects: config.objects.filter((_, j) => j % n === i),
        // HubSpot's search limit is per token: the tasks share it.
        share: 1 / n,
      },
    }));
    if (config.webhook)
      specs.push({ taskId: WEBHOOK_TASK_ID, config: { role: 'webhook', config, webhook: config.webhook } });
    return specs;
  },
  async *run(ctx) {
    const t = ctx.config;
    if (t.role === 'webhook') {
      yield* receiveWebhooks({
        connector: ctx.connector,
        config: t.webhook,
        offsets: ctx.offsets,
        signal: ctx.signal,
        logger: ctx.logger,
        metrics: ctx.metrics,
        ...(ctx.onCommitted ? { onCommitted: ctx.onCommitted } : {}),
      }) as AsyncGenerator<SourceBatch<JsonValue>>;
      return;
    }
    const c = t.config;
    ctx.logger.info(
      { objects: t.objects.map((o) => o.type), baseUrl: c.baseUrl, auth: c.auth.kind },
      'hubspot source starting',
    );
    const api = createHubSpotApi({
      baseUrl: c.baseUrl,
      auth: c.auth,
      searchPerSecond: c.rateLimits.searchPerSecond * t.share,
      requestsPerTenSeconds: Math.max(1, Math.floor(c.rateLimits.requestsPerTenSeconds * t.share)),
      dailyLimitPauseMs: c.rateLimits.dailyLimitPauseMs,
      signal: ctx.signal,
      logger: ctx.logger,
    });
    yield* pollObjects(
      {
        api,
        config: c,
        connector: ctx.connector,
        logger: ctx.logger,
        metrics: ctx.metrics,
        signal: ctx.signal,
      },
      t.objects,
      ctx.offsets,
    ) as AsyncGenerator<SourceBatch<JsonValue>>;
  },
});

export { configSchema, type HubSpotConfig, type TaskConfig } from './config.ts';
export { type PollOffset } from './offset.ts';
export { verifySignatureV3, WEBHOOK_PARTITION, type WebhookOffset } from './webhook-receiver.ts';
export { recordKey, sensitiveChanges, versionRecord, deleteRecord, webhookRecord } from './normalize.ts';
