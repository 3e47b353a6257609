// Builds a complete Source from a VenueAdapter: config, task split by symbol, one ccxt connection per
// task, one follower per symbol merged into the task's batches.
import type { z } from 'zod';
import {
  defineSource,
  mergeIterators,
  type SourceBatch,
  type SourceDefinition,
  type TaskSpec,
} from '@tributary/sdk';
import { TOPICS } from '@tributary/schemas';
import { tradeSourceConfigSchema, type TradeSourceConfig } from './config.ts';
import { followSymbol, type TradeOffset } from './follow-symbol.ts';
import type { MalformedFrame, VenueAdapter } from './venue.ts';

export interface TradeSourceOptions {
  type: string;
  description: string;
  adapter: VenueAdapter;
}

/** Malformed frames kept at most (a flood of garbage must not grow memory without bound). */
const MAX_MALFORMED = 1000;

export function createTradeSource(
  o: TradeSourceOptions,
): SourceDefinition<TradeSourceConfig, TradeSourceConfig, TradeOffset> {
  return defineSource<TradeSourceConfig, TradeSourceConfig, TradeOffset>({
    type: o.type,
    description: o.description,
    configSchema: tradeSourceConfigSchema as z.ZodType<TradeSourceConfig>,
    topics: () => [TOPICS.exchangeTrades.name],
    tasks(config, tasksMax): TaskSpec<TradeSourceConfig>[] {
      const n = Math.max(1, Math.min(tasksMax, config.symbols.length));
      return Array.from({ length: n }, (_, taskId) => ({
        taskId,
        config: { ...config, symbols: config.symbols.filter((_, i) => i % n === taskId) },
      }));
    },
    async *run(ctx): AsyncGenerator<SourceBatch<TradeOffset>> {
      const c = ctx.config;
      const ac = new AbortController();
      const onAbort = () => ac.abort(ctx.signal.reason);
      if (ctx.signal.aborted) return;
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      const malformed: MalformedFrame[] = [];
      let dropped = 0;
      const conn = await o.adapter.connect({
        restUrl: c.restUrl,
        wsUrl: c.wsUrl,
        apiKey: c.apiKey?.reveal(),
        tradesLimit: c.tradesLimit,
        restRateLimitMs: c.restRateLimitMs,
        timeoutMs: c.requestTimeoutMs,
        logger: ctx.logger,
        onMalformed(f) {
          if (malformed.length < MAX_MALFORMED) malformed.push(f);
          else dropped++;
        },
      });
      const drainMalformed = () => {
        if (dropped > 0)
          ctx.logger.warn({ dropped }, 'malformed frames beyond the dead-letter buffer were dropped');
        dropped = 0;
        return malformed.splice(0, malformed.length);
      };
      try {
        const followers = c.symbols.map((symbol) => {
          const committed = ctx.offsets.get(symbol);
          return followSymbol({
            connector: ctx.connector,
            venue: o.adapter.venue,
            symbol,
            conn,
            committed: committed ? BigInt(committed.lastTradeId) : null,
            startAfterId: c.startFrom === 'latest' ? 'latest' : BigInt(c.startFrom.afterId),
            pageSize: Math.min(c.pageSize, o.adapter.maxPage),
            batchSize: c.batchSize,
            idleCheckMs: c.idleCheckMs,
            gapRetries: c.gapRetries,
            gapRetryMs: c.gapRetryMs,
            restRetries: c.restRetries,
            maxRetryAfterMs: c.maxRetryAfterMs,
            reconnectMinMs: c.reconnectMinMs,
            reconnectMaxMs: c.reconnectMaxMs,
            drainMalformed,
            signal: ac.signal,
            logger: ctx.logger,
            metrics: ctx.metrics,
          });
        });
        yield* mergeIterators(followers, () => ac.abort(new Error('task stopped')));
      } finally {
        ac.abort(new Error('task stopped'));
        ctx.signal.removeEventListener('abort', onAbort);
        await conn
          .close()
          .catch((err: unknown) => ctx.logger.warn({ err: String(err) }, 'closing venue connection failed'));
      }
    },
  });
}
