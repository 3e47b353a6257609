import { kafkaTestConfig } from '@tributary/testkit/vitest-config';

// The geth suites (`npm run test:geth`): eth_getBlockReceipts, and a reorg retracted on restart.
export default kafkaTestConfig({ include: ['test/geth/*.test.ts'] });
