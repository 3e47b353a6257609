import { describeSourceConformance } from '@tributary/testkit';
import { source } from '../src/index.ts';

describeSourceConformance(source, async () => ({
  config: { partitions: 2, ratePerSec: 0, recordBytes: 128, batchSize: 10, total: 100, poison: [3] },
  invalid: { config: { partitions: 0 }, path: 'partitions' },
  deterministicResume: true,
}));
