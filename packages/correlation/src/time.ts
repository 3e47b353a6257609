// Durations in rule parameters are analyst-readable strings ('90s', '15m', '24h', '30d') or milliseconds.

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export type Duration = string | number;

/** Milliseconds of a duration: a number is taken as ms; a string is `<n><unit>` with unit ms|s|m|h|d|w. */
export function ms(d: Duration): number {
  if (typeof d === 'number') {
    if (!Number.isFinite(d) || d < 0) throw new Error(`invalid duration ${d}`);
    return d;
  }
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$/.exec(d.trim());
  if (!m) throw new Error(`invalid duration '${d}' (expected e.g. 90s, 15m, 24h, 30d)`);
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

/** Human form of a duration in ms, for summaries ('24h', '90m', '30d'). */
export function formatMs(v: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (v >= size && v % size === 0) return `${v / size}${unit}`;
  }
  return `${v}ms`;
}
