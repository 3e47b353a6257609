// Recorded ccxt payloads, read in place from the shared fixtures beside the repo.
import { readSharedFixture } from '@tributary/testkit';

export const fixture = <T = unknown>(name: string): T => readSharedFixture<T>('exchanges', 'ccxt', name);
