// Runs the source in-process against a fake task context and collects its batches: fast tests of what
// the source yields, without Kafka (the crash test runs the real worker).
import type { SourceBatch } from '@tributary/sdk';
import { createLogger } from '@tributary/runtime';
import { configSchema, source, type BitcoinConfigInput, type BitcoinOffset } from '../../src/index.ts';

export interface Collected {
  batches: SourceBatch<BitcoinOffset>[];
  skipped: string[];
  error: unknown;
}

export async function collect(
  input: BitcoinConfigInput,
  opts: {
    offsets?: Map<string, BitcoinOffset>;
    until?: (batches: SourceBatch<BitcoinOffset>[]) => boolean;
    timeoutMs?: number;
    connector?: string;
  } = {},
): Promise<Collected> {
  const config = configSchema.parse(input);
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error('collect timed out')), opts.timeoutMs ?? 60_000);
  const out: Collected = { batches: [], skipped: [], error: null };
  try {
    const task = source.run({
      connector: opts.connector ?? 'btc-test',
      taskId: 0,
      config,
      offsets: opts.offsets ?? new Map(),
      signal: ac.signal,
      logger: createLogger({ level: process.env.LOG_LEVEL ?? 'silent' }),
      metrics: { lag: () => {}, skipped: (reason) => out.skipped.push(reason) },
    });
    for await (const batch of task) {
      out.batches.push(batch);
      if (opts.until?.(out.batches)) break;
    }
  } catch (err) {
    out.error = err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return out;
}

/** The values of one logical topic across batches, in order. */
export function valuesOf<T>(batches: SourceBatch<BitcoinOffset>[], topic: string): T[] {
  return batches.flatMap((b) => b.records.filter((r) => r.topic === topic).map((r) => r.value as T));
}
