// What every benchmark shares: the median it quotes, the table it prints, and where its JSON goes
// (`bench/results/` at the repo root, one file per benchmark).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repo's `bench/results/<name>.json`. */
export function benchResultsPath(name: string): string {
  return join(import.meta.dirname, '..', '..', '..', 'bench', 'results', `${name}.json`);
}

/** Writes `data` as pretty JSON to `file` (default: `benchResultsPath(name)`), prints and returns the path. */
export function writeBenchResults(name: string, data: unknown, file = benchResultsPath(name)): string {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(data, null, 2) + '\n');
  console.log(`wrote ${file}`);
  return file;
}

/** Median of a sample (the mean of the two middle values for an even count; NaN when empty). */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Prints rows as aligned columns: the first left-aligned (labels), the others right-aligned (figures). */
export function printTable(rows: string[][]): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows)
    console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
}
