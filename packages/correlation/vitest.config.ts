import { kafkaTestConfig } from '@tributary/testkit/vitest-config';

export default kafkaTestConfig({ testTimeout: 120_000 });
