import { kafkaTestConfig } from '@tributary/testkit/vitest-config';

// test/geth/ runs apart (`npm run test:geth`): its first run builds geth with `go install` (about 4 min on
// 2 cores), too much for every CI run; Hardhat covers the same source paths in the default suite.
export default kafkaTestConfig({ include: ['test/*.test.ts'] });
