// Recorded ccxt payloads live outside the repo (/work/shared/fixtures/exchanges/ccxt, next to the repo
// root); read them in place and fail loudly when they are not there.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const FIXTURES = join(repoRoot, '..', 'shared', 'fixtures', 'exchanges', 'ccxt');

export function fixture<T = unknown>(name: string): T {
  const file = join(FIXTURES, name);
  if (!existsSync(file))
    throw new Error(
      `recorded fixture ${file} is missing: these tests need the shared ccxt fixtures next to the repo (see README)`,
    );
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
