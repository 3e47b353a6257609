import { kafkaTestConfig } from '@tributary/testkit/vitest-config';

export default kafkaTestConfig();
