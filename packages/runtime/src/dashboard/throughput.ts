// Records committed per connector on this worker, sampled on a timer into a ring buffer: the dashboard's
// "throughput over time" without keeping anything per record.
import { createRing } from './ring.ts';

export interface ThroughputSeries {
  connector: string;
  /** `[time in ms since the epoch, records per second since the previous sample]`, oldest first. */
  points: [number, number][];
}

export interface Throughput {
  /** Counts `records` committed by a task of `connector`. */
  add(connector: string, records: number): void;
  /** Records committed per connector since the worker started (live, not sampled). */
  totals(): ReadonlyMap<string, number>;
  /** Takes a sample of the totals at `now`. */
  sample(now: number): void;
  /** Rates between consecutive samples, per connector. */
  series(): ThroughputSeries[];
}

export function createThroughput(o: { intervalMs: number; windowMs: number }): Throughput {
  const totals = new Map<string, number>();
  // One more sample than intervals in the window: n samples give n - 1 rates.
  const ring = createRing<{ t: number; totals: ReadonlyMap<string, number> }>(
    Math.ceil(o.windowMs / o.intervalMs) + 1,
  );
  return {
    add(connector, records) {
      totals.set(connector, (totals.get(connector) ?? 0) + records);
    },
    totals: () => totals,
    sample(now) {
      ring.push({ t: now, totals: new Map(totals) });
    },
    series() {
      const samples = ring.items();
      const names = new Set(samples.flatMap((s) => [...s.totals.keys()]));
      return [...names].sort().map((connector) => ({
        connector,
        points: samples.slice(1).map((s, i): [number, number] => {
          const prev = samples[i]!;
          const dt = (s.t - prev.t) / 1000;
          const delta = (s.totals.get(connector) ?? 0) - (prev.totals.get(connector) ?? 0);
          return [s.t, dt > 0 ? delta / dt : 0];
        }),
      }));
    },
  };
}
