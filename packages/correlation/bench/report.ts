// What the processor benchmarks share for output: timestamped progress lines on stderr, number formatting
// and the results table.
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
