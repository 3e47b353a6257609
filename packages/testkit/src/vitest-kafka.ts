// Vitest globalSetup: one real Kafka broker for a package's test run (or the KAFKA_BROKERS cluster).
// Use from a package's vitest.config.ts: `globalSetup: ['@tributary/testkit/vitest-kafka']`, then
// `inject('kafkaBrokers')` in tests.
import type { TestProject } from 'vitest/node';
import { startKafka } from './kafka.ts';

import './vitest-context.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const kafka = await startKafka();
  project.provide('kafkaBrokers', kafka.brokers);
  return () => kafka.close();
}
