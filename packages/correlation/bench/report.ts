// What the benchmarks share: --help and integer options, timestamped progress lines on stderr, number
// formatting and the results table.
import { printTable } from '@tributary/testkit';

export const log = (msg: string): void => console.error(`[${new Date().toISOString().slice(11, 19)}] ${msg}`);

export const fmt = (x: number, digits = 0): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export interface BenchResult {
  name: string;
  unit: string;
  value: number;
  reference: number | null;
  ratio: number | null;
}

/** The results as a table on stdout. */
export function printResults(results: BenchResult[]): void {
  const show = (x: number) => (Math.abs(x) >= 100 || Number.isInteger(x) ? fmt(x) : fmt(x, 2));
  console.log();
  printTable([
    ['', 'value', 'unit', 'reference', 'ratio'],
    ...results.map((r) => [
      r.name,
      show(r.value),
      r.unit,
      r.reference === null ? '' : show(r.reference),
      r.ratio === null ? '' : fmt(r.ratio, 2),
    ]),
  ]);
}

/** For `--help`: prints `usage` and exits 0. */
export function exitWithHelp(help: boolean | undefined, usage: string): void {
  if (!help) return;
  console.log(usage);
  process.exit(0);
}

/** The named string options as integers no smaller than their minimum (`mins`); exits 2 naming the first
 * that is not, with `usage`. */
export function intOptions<K extends string>(
  values: Record<string, unknown>,
  mins: Record<K, number>,
  usage: string,
): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const k of Object.keys(mins) as K[]) {
    const v = Number(values[k]);
    if (!Number.isInteger(v) || v < mins[k]) {
      console.error(`--${k} must be an integer of at least ${mins[k]}\n${usage}`);
      process.exit(2);
    }
    out[k] = v;
  }
  return out;
}
