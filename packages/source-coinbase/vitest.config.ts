import { kafkaTestConfig } from '@tributary/testkit/vitest-config';

// In-process tests against the venue simulators: no broker needed (the crash test lives in test/).
export default kafkaTestConfig({ kafka: false });
