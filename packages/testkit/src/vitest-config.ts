// The vitest settings every package with Kafka tests uses: one real broker per run (global setup), files
// one at a time (two cores, one broker), generous timeouts for real services, and a JSON report that
// the root test script sums into one closing line.
import { defineConfig, type ViteUserConfig } from 'vitest/config';

export function kafkaTestConfig(
  /** `kafka: false` for in-process suites that need no broker. */
  overrides: { include?: string[]; testTimeout?: number; kafka?: boolean } = {},
): ViteUserConfig {
  return defineConfig({
    test: {
      globalSetup: overrides.kafka === false ? [] : ['@tributary/testkit/vitest-kafka'],
      include: overrides.include ?? ['test/**/*.test.ts'],
      fileParallelism: false,
      testTimeout: overrides.testTimeout ?? 180_000,
      hookTimeout: 180_000,
      reporters: ['default', ['json', { outputFile: 'test-results/vitest.json' }]],
    },
  });
}
