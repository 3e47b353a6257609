// Recorded public data lives beside the repository in ../shared/fixtures and is read in place (never copied
// into the repo). A missing file is a loud failure, not a skipped test.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** <repo>/../shared/fixtures */
export const SHARED_FIXTURES = join(
  resolve(dirname(fileURLToPath(import.meta.url)), '../../..'),
  '..',
  'shared',
  'fixtures',
);

/** Path of a shared fixture; throws naming the folder when it is not there. */
export function sharedFixturePath(...parts: string[]): string {
  const p = join(SHARED_FIXTURES, ...parts);
  if (!existsSync(p))
    throw new Error(
      `recorded fixture ${p} is missing: the tests read it from ${SHARED_FIXTURES}, beside the repository`,
    );
  return p;
}

export function readSharedFixture<T = unknown>(...parts: string[]): T {
  return JSON.parse(readFileSync(sharedFixturePath(...parts), 'utf8')) as T;
}
