import { kafkaTestConfig } from '@tributary/testkit/vitest-config';

// The suite test starts Hardhat, btcd, four simulators, six connectors and the processor: minutes, not
// seconds, on a loaded 2-core machine.
export default kafkaTestConfig({ testTimeout: 300_000 });
