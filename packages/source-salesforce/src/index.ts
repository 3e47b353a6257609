// Salesforce record changes into `crm.changes`, exactly once: Change Data Capture over the Streaming API
// (jsforce, durable replay, Bulk API 2.0 snapshot) or SOQL polling on SystemModstamp.
import type { z } from 'zod';
import { defineSource, mergeIterators, type SourceBatch, type TaskSpec } from '@tributary/sdk';
import { TOPICS } from '@tributary/schemas';
import { openSession } from './auth.ts';
import { channelBatches, type ChannelOffset } from './cdc.ts';
import {
  channelPlan,
  configSchema,
  partitionsOf,
  type SalesforceConfig,
  type SalesforceConfigInput,
} from './config.ts';
import { pollBatches, type PollOffset } from './polling.ts';

export { configSchema, channelPlan, objectChannel, ALL_CHANGE_EVENTS } from './config.ts';
export type { SalesforceConfig, SalesforceConfigInput, ChannelPlan } from './config.ts';
export type { ChannelOffset, BulkProgress } from './cdc.ts';
export type { PollOffset } from './polling.ts';
export { jwtAssertion } from './auth.ts';
export {
  parseMessage,
  eventRecords,
  gapRecord,
  snapshotRecord,
  polledRecord,
  changeTypeOf,
  type CdcEvent,
  type ChangeEventHeader,
} from './normalize.ts';
export { replayExpiredAlert, REPLAY_EXPIRED_RULE } from './alert.ts';

/** A task's share of the connector: its channels (CDC) or objects (polling). */
export type SalesforceTaskConfig = SalesforceConfig & { partitions: string[] };
export type SalesforceOffset = ChannelOffset | PollOffset;

export const source = defineSource<SalesforceConfig, SalesforceTaskConfig, SalesforceOffset>({
  type: 'salesforce',
  description:
    'Salesforce record changes (Change Data Capture with durable replay and Bulk API 2.0 snapshot, or SOQL polling) into crm.changes',
  configSchema: configSchema as unknown as z.ZodType<SalesforceConfig>,
  topics: () => [TOPICS.crmChanges.name, TOPICS.alerts.name],
  tasks(config, tasksMax): TaskSpec<SalesforceTaskConfig>[] {
    const parts = partitionsOf(config);
    const n = Math.max(1, Math.min(tasksMax, parts.length));
    return Array.from({ length: n }, (_, taskId) => ({
      taskId,
      config: { ...config, partitions: parts.filter((_, i) => i % n === taskId) },
    }));
  },
  async *run(ctx): AsyncGenerator<SourceBatch<SalesforceOffset>> {
    const c = ctx.config;
    const partitions = c.partitions ?? partitionsOf(c);
    if (ctx.signal.aborted) return;
    const ac = new AbortController();
    const onAbort = () => ac.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const session = await openSession(c, ctx.logger, ac.signal);
      ctx.logger.info({ mode: c.mode, partitions }, 'salesforce source starting');
      const common = { config: c, session, signal: ac.signal, logger: ctx.logger, metrics: ctx.metrics };
      const iters: AsyncIterator<SourceBatch<SalesforceOffset>>[] =
        c.mode === 'cdc'
          ? channelPlan(c)
              .filter((p) => partitions.includes(p.channel))
              .map((plan) =>
                channelBatches(
                  { ...common, connector: ctx.connector, plan },
                  ctx.offsets.get(plan.channel) as ChannelOffset | undefined,
                ),
              )
          : c.objects
              .filter((o) => partitions.includes(`poll:${o.name}`))
              .map((o) =>
                pollBatches(
                  { ...common, objectType: o.name },
                  ctx.offsets.get(`poll:${o.name}`) as PollOffset | undefined,
                ),
              );
      yield* mergeIterators(iters, () => ac.abort(new Error('salesforce task ended')));
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
      ac.abort(new Error('salesforce task ended'));
    }
  },
});

/** Typed helper for connectors.config.ts. */
export function salesforce(
  name: string,
  config: SalesforceConfigInput,
  batch?: { maxRecords?: number; maxMs?: number },
) {
  return { name, type: 'salesforce', config, ...(batch ? { batch } : {}) };
}
