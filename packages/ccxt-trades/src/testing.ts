// Test helper for venue packages: runs a trade source in-process against a simulator and collects what it
// yields (`@tributary/ccxt-trades/testing`; not part of the runtime API).
import { pino } from 'pino';
import type { SourceDefinition } from '@tributary/sdk';
import { exchangeTrade, type ExchangeTrade } from '@tributary/schemas';
import type { TradeOffset, TradeSourceConfig } from './index.ts';

export interface Collected {
  trades: Map<string, ExchangeTrade[]>;
  deadLetters: { reason: string }[];
  offsets: Map<string, TradeOffset>;
}

/** Reads until every symbol has `perSymbol` trades (or `timeoutMs`), then stops the task. */
export async function collect(
  source: SourceDefinition<TradeSourceConfig, TradeSourceConfig, TradeOffset>,
  rawConfig: unknown,
  perSymbol: number,
  opts: {
    timeoutMs?: number;
    offsets?: Map<string, TradeOffset>;
    onBatch?: (n: number) => void | Promise<void>;
  } = {},
): Promise<Collected> {
  const config = source.configSchema.parse(rawConfig);
  const ac = new AbortController();
  const out: Collected = {
    trades: new Map(config.symbols.map((s) => [s, []])),
    deadLetters: [],
    offsets: new Map(),
  };
  const timer = setTimeout(() => ac.abort(new Error('collect timed out')), opts.timeoutMs ?? 20_000);
  let n = 0;
  try {
    for await (const b of source.run({
      connector: 'test',
      taskId: 0,
      config,
      offsets: opts.offsets ?? new Map(),
      signal: ac.signal,
      logger: pino({ level: 'silent' }),
      metrics: { lag: () => {}, skipped: () => {} },
    })) {
      for (const r of b.records) {
        if (r.topic === 'exchange.trades') out.trades.get(b.partition)!.push(r.value as ExchangeTrade);
        else out.deadLetters.push(r.value as { reason: string });
      }
      out.offsets.set(b.partition, b.offset);
      await opts.onBatch?.(++n);
      if ([...out.trades.values()].every((l) => l.length >= perSymbol)) break;
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return out;
}

/** Ids as numbers, to compare with the generator's 1..n. */
export function ids(trades: ExchangeTrade[]): number[] {
  return trades.map((t) => Number(t.tradeId));
}

export function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

/** Throws unless `t` fits the `exchange.trades` schema (normalization builds records without parsing each
 * one again, so the tests do). */
export function checkTradeSchema(t: ExchangeTrade): void {
  exchangeTrade.parse(t);
}
